/** `rotor plan`, per cluster: what a rotation would touch, read-only. Names only, never values. */
import type { Clients, KubeClients } from '../adapters/kubernetes/clients';
import { contextOf } from '../adapters/kubernetes/clients';
import { checkSecretStore, findExternalSecrets } from '../adapters/kubernetes/eso';
import { forceSyncProblem } from '../adapters/kubernetes/eso-objects';
import { errorText, statusCode } from '../adapters/kubernetes/errors';
import { listConsumers } from '../adapters/kubernetes/consumers';
import { unrolledRestartOnly } from '../core/consumers';
import type { PodConsumer } from '../core/consumers';
import { managedByLabelKey } from '../core/ids';
import type { ClusterTarget, Store } from '../core/playbook/schema';
import { withTimeout } from './read-timeout';

/** Read-only view of what a rotation would touch in one cluster (`rotor plan`). Names only, no values. */
export interface ClusterPlan {
  cluster: string;
  context: string;
  delivery: ClusterTarget['delivery'];
  namespace: string;
  namespaceExists: boolean;
  secret: { name: string; exists: boolean; keys: string[]; managedBy?: string };
  externalSecrets: { name: string; store: string; refreshInterval?: string; ready?: string; problem?: string }[];
  workloads: { kind: string; name: string; found: boolean }[];
  /** Pods in the namespace that read the Secret, how, and their owning workloads. */
  consumers: PodConsumer[];
  /** Anything that would make delivery fail or that could not be checked (unreachable, forbidden, ...). */
  problems: string[];
}

/**
 * Read-only: what a rotation would touch in this cluster (namespace, the Secret's key names,
 * ExternalSecrets, workloads) and what would make delivery fail. Unreachable or forbidden
 * parts become `problems` rather than errors, so a plan covers every cluster.
 */
/**
 * Read-only: what a rotation would touch in this cluster (namespace, the Secret's key names,
 * ExternalSecrets, workloads) and what would make delivery fail. Unreachable or forbidden
 * parts become `problems` rather than errors, so a plan covers every cluster.
 */
export async function clusterPlan(
  kube: KubeClients,
  { cluster, store }: { cluster: ClusterTarget; store?: Store },
): Promise<ClusterPlan> {
  const context = contextOf(cluster);
  const { namespace, secretName } = cluster;
  const plan: ClusterPlan = {
    cluster: cluster.name,
    context,
    delivery: cluster.delivery,
    namespace,
    namespaceExists: false,
    secret: { name: secretName, exists: false, keys: [] },
    externalSecrets: [],
    workloads: [],
    consumers: [],
    problems: [],
  };
  let clients: Clients;
  try {
    clients = kube.forContext(context);
  } catch (e) {
    plan.problems.push((e as Error).message);
    return plan;
  }
  const { core, apps } = clients;
  const call = <T>(what: string, work: Promise<T>) => withTimeout(`${cluster.name}: ${what}`, work);
  try {
    await call('read namespace', core.readNamespace({ name: namespace }));
    plan.namespaceExists = true;
  } catch (e) {
    plan.problems.push(
      statusCode(e) === 404
        ? `namespace ${namespace} does not exist`
        : `cannot read namespace ${namespace}: ${errorText(e)}`,
    );
    if (statusCode(e) !== 404 && statusCode(e) !== 403) return plan;
  }
  try {
    const secret = await call('read secret', core.readNamespacedSecret({ name: secretName, namespace }));
    plan.secret = {
      name: secretName,
      exists: true,
      keys: Object.keys(secret.data ?? {}).sort(),
      managedBy: secret.metadata?.labels?.[managedByLabelKey],
    };
  } catch (e) {
    if (statusCode(e) !== 404) plan.problems.push(`cannot read secret ${namespace}/${secretName}: ${errorText(e)}`);
    else if (cluster.delivery === 'observe')
      plan.problems.push(
        `secret ${namespace}/${secretName} does not exist, and observe delivery relies on something else writing it`,
      );
  }
  if (cluster.delivery === 'eso') {
    try {
      const found = await call('find ExternalSecrets', findExternalSecrets(kube, cluster));
      for (const es of found) {
        const ref = es.spec?.secretStoreRef;
        let problem = forceSyncProblem(es);
        if (!problem && store) {
          problem = await checkSecretStore(kube, cluster, es, store).then(
            () => undefined,
            (e: unknown) => (e as Error).message,
          );
        }
        const ready = es.status?.conditions?.find((c) => c.type === 'Ready');
        plan.externalSecrets.push({
          name: es.metadata?.name ?? '?',
          store: `${ref?.kind ?? 'SecretStore'}/${ref?.name ?? '?'}`,
          ...(es.spec?.refreshInterval !== undefined ? { refreshInterval: es.spec.refreshInterval } : {}),
          ...(ready ? { ready: `${ready.status ?? '?'}${ready.reason ? ` ${ready.reason}` : ''}` } : {}),
          ...(problem ? { problem } : {}),
        });
        if (problem) plan.problems.push(`ExternalSecret ${es.metadata?.name ?? '?'} ${problem}`);
      }
    } catch (e) {
      plan.problems.push((e as Error).message);
    }
  }
  for (const w of cluster.workloads) {
    const read =
      w.kind === 'Deployment'
        ? apps.readNamespacedDeployment({ name: w.name, namespace })
        : apps.readNamespacedStatefulSet({ name: w.name, namespace });
    try {
      await call(`read ${w.kind}`, read);
      plan.workloads.push({ kind: w.kind, name: w.name, found: true });
    } catch (e) {
      plan.workloads.push({ kind: w.kind, name: w.name, found: false });
      plan.problems.push(
        statusCode(e) === 404
          ? `${w.kind} ${namespace}/${w.name} does not exist`
          : `cannot read ${w.kind} ${namespace}/${w.name}: ${errorText(e)}`,
      );
    }
  }
  try {
    plan.consumers = await call("list the Secret's consumers", listConsumers(kube, cluster));
    const where = { cluster: cluster.name, namespace, secretName };
    plan.problems.push(...unrolledRestartOnly(plan.consumers, cluster.workloads, where));
  } catch (e) {
    plan.problems.push(`cannot list the pods that read ${namespace}/${secretName}: ${errorText(e)}`);
  }
  return plan;
}
