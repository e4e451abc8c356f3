/**
 * Per-cluster delivery and dual-read verification. During a rotation the Secret
 * `<namespace>/<secretName>` holds the current version under `currentKey` and the other version
 * (pending before promotion, previous after it) under `otherKey`; revoke drops `otherKey`.
 * Values are read from the store inside these activities and never logged, returned or put in
 * an error message: everything that leaves here is key names, version ids and keyed fingerprints.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { V1Deployment, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterTarget, Store } from '../playbooks/schema';
import { ErrorTypes, permanent } from './errors';
import {
  esoGroup,
  esoApiVersion,
  esoVersion,
  externalSecretsPlural,
  forceSyncAnnotation,
  forceSyncProblem,
  pinnedData,
  referencedKeys,
  remoteKeysOf,
  storeMismatch,
  syncState,
  targetSecretName,
} from './eso';
import type { ExternalSecret, SecretStoreObject } from './eso';
import { waitForObject } from './kube-watch';
import type { WatchRestart } from './kube-watch';
import type {
  ClusterInput,
  ClusterPlan,
  ClusterReport,
  ClusterVersions,
  UnlistedConsumer,
  UnlistedConsumersInput,
  UnlistedConsumersResult,
  VersionRef,
} from './types';

/** What the cluster activities need; values are read through `readValue` inside the activity only. */
export interface ClusterActivityDeps {
  /** Every context a playbook may name (loaded from KUBECONFIG). */
  kubeconfig: KubeConfig;
  readValue: (store: Store, version: string) => Promise<string>;
  /** Keyed fingerprint, the same function that produced the VersionRefs' fingerprints. */
  fingerprint: (value: string) => string;
}

/**
 * The kubeconfig the worker uses: `KUBECONFIG` (one file or a colon-separated list, merged), else
 * ~/.kube/config or the in-cluster service account, as kubectl resolves it.
 */
export function loadKubeconfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** Field manager of everything rotor applies; server-side apply then tracks exactly which keys rotor owns. */
export const fieldManager = 'rotor';
const managedByLabel = { 'app.kubernetes.io/managed-by': 'rotor' };
const defaultVerifyTimeoutMs = 120_000;
const readOnlyCallTimeoutMs = 15_000;
const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Pod-template annotation whose change rolls a workload out; its value is the rotation's token. */
export const rolloutAnnotation = 'rotor.dev/rotation';

/**
 * Whether a Deployment/StatefulSet finished rolling out its current spec: the controller observed
 * the latest generation and every desired replica is updated and available (zero replicas counts).
 */
export function rolloutState(obj: V1Deployment | V1StatefulSet | undefined): { complete: boolean; summary: string } {
  if (!obj) return { complete: false, summary: 'does not exist' };
  const desired = obj.spec?.replicas ?? 1;
  const st = obj.status;
  const observed = (st?.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 1);
  const updated = st?.updatedReplicas ?? 0;
  const available = st?.availableReplicas ?? 0;
  const total = st?.replicas ?? 0;
  const revisionsMatch =
    !('currentRevision' in (st ?? {})) ||
    (st as { currentRevision?: string; updateRevision?: string }).currentRevision ===
      (st as { updateRevision?: string }).updateRevision ||
    desired === 0;
  const complete = observed && updated === desired && available === desired && total === desired && revisionsMatch;
  return {
    complete,
    summary: `${observed ? '' : 'generation not yet observed, '}${updated}/${desired} updated, ${available}/${desired} available`,
  };
}

interface Clients {
  context: string;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  apps: AppsV1Api;
}

/** The activity context, or undefined when called outside an activity (e.g. by `rotor plan`). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The API server's own message from an error body (a Status), without echoing request data. */
function serverMessage(e: ApiException<unknown>): string {
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return '';
    }
  }
  const msg = typeof body === 'object' && body !== null && 'message' in body ? body.message : undefined;
  return typeof msg === 'string' ? msg.slice(0, 300) : '';
}

function errorText(e: unknown): string {
  if (e instanceof ApiException) return `HTTP ${e.code}${serverMessage(e) ? `: ${serverMessage(e)}` : ''}`;
  const err = e as { message?: string; cause?: { code?: string } };
  return [err.message, err.cause?.code].filter(Boolean).join(' ') || String(e);
}

/**
 * Maps a Kubernetes API failure to a stable failure type. 401/403 and 400/422 cannot succeed on
 * retry; everything else (5xx, conflicts, network) is retryable.
 */
function kubeFailure(e: unknown, where: string, verb: string, resource: string): Error {
  if (e instanceof ApplicationFailure) return e;
  if (e instanceof ApiException) {
    const msg = serverMessage(e);
    if (e.code === 403) {
      return permanent(
        ErrorTypes.permissionDenied,
        `${where}: forbidden to ${verb} ${resource}${msg ? ` (${msg})` : ''}; grant rotor's kubeconfig identity '${verb}' on ${resource} with a Role/ClusterRole binding`,
      );
    }
    if (e.code === 401) {
      return permanent(
        ErrorTypes.permissionDenied,
        `${where}: the API server rejected rotor's credentials (HTTP 401) trying to ${verb} ${resource}; refresh the kubeconfig user of this context`,
      );
    }
    if (e.code === 400 || e.code === 422) {
      return permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: the API server refused to ${verb} ${resource}: ${msg || `HTTP ${e.code}`}`,
      );
    }
  }
  return ApplicationFailure.retryable(`${where}: failed to ${verb} ${resource}: ${errorText(e)}`, 'KubernetesError');
}

function statusCode(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** Escapes a key for a JSON Pointer (RFC 6901). */
function pointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

class ConvergenceTimeout extends Error {}

interface SecretCheck {
  ok: boolean;
  /** Key names and whether each fingerprint matched; never values or fingerprints of unrelated keys. */
  summary: string;
  observed: Record<string, string>;
}

/**
 * Builds the cluster activities over a kubeconfig. Each playbook cluster names a context (its
 * `context`, else its name); clients per context are made once and reused.
 */
export function createClusterActivities(deps: ClusterActivityDeps) {
  const clientCache = new Map<string, Clients>();

  function contextOf(cluster: Pick<ClusterTarget, 'name' | 'context'>): string {
    return cluster.context ?? cluster.name;
  }

  function clientsFor(context: string): Clients {
    const cached = clientCache.get(context);
    if (cached) return cached;
    const base = deps.kubeconfig;
    if (!base.getContextObject(context)) {
      const known =
        base
          .getContexts()
          .map((c) => c.name)
          .join(', ') || 'none';
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `kubeconfig has no context '${context}' (it has: ${known}); set clusters[].context or point KUBECONFIG at the right file`,
      );
    }
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: base.clusters,
      users: base.users,
      contexts: base.contexts,
      currentContext: context,
    });
    const clients = {
      context,
      kc,
      core: kc.makeApiClient(CoreV1Api),
      custom: kc.makeApiClient(CustomObjectsApi),
      apps: kc.makeApiClient(AppsV1Api),
    };
    clientCache.set(context, clients);
    return clients;
  }

  function whereOf(cluster: ClusterTarget): string {
    const context = contextOf(cluster);
    return `cluster ${cluster.name}${context !== cluster.name ? ` (context ${context})` : ''}`;
  }

  /** Reads a version's value and checks it is the one the rotation planned, before it goes anywhere. */
  async function valueOf(store: Store, ref: VersionRef, where: string): Promise<string> {
    const value = await deps.readValue(store, ref.version);
    if (deps.fingerprint(value) !== ref.fingerprint) {
      throw permanent(
        ErrorTypes.invalidInput,
        `${where}: store version ${ref.version} no longer has the value this rotation fingerprinted; refusing to deliver it (was the store entry rewritten outside rotor?)`,
      );
    }
    return value;
  }

  async function deliverPush({ cluster, versions }: ClusterInput): Promise<void> {
    const { core } = clientsFor(contextOf(cluster));
    const { namespace, secretName: name } = cluster;
    const where = whereOf(cluster);
    const resource = `secret ${namespace}/${name}`;
    const current = await valueOf(versions.store, versions.current, where);
    const other = versions.other ? await valueOf(versions.store, versions.other, where) : null;
    const data: Record<string, string> = { [versions.currentKey]: Buffer.from(current, 'utf8').toString('base64') };
    if (other !== null) data[versions.otherKey] = Buffer.from(other, 'utf8').toString('base64');
    const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: managedByLabel }, data };

    let applied: V1Secret;
    try {
      applied = await core.patchNamespacedSecret({ name, namespace, body, fieldManager, force: true }, serverSideApply);
    } catch (e) {
      if (statusCode(e) === 404) {
        throw permanent(
          ErrorTypes.deliveryMisconfigured,
          `${where}: namespace ${namespace} does not exist; create it (rotor does not create namespaces) or fix clusters[].namespace`,
        );
      }
      throw kubeFailure(e, where, 'patch', resource);
    }
    if (other === null && applied.data?.[versions.otherKey] !== undefined) {
      // Apply only drops keys rotor owns; a key another manager wrote (kubectl, a migration) stays, so remove it explicitly.
      const patch = [
        { op: 'test', path: '/metadata/resourceVersion', value: applied.metadata?.resourceVersion },
        { op: 'remove', path: `/data/${pointer(versions.otherKey)}` },
      ];
      try {
        await core.patchNamespacedSecret({ name, namespace, body: patch, fieldManager }, jsonPatch);
      } catch (e) {
        // A failed test op (concurrent write) is a 422 here but worth a retry: the next attempt re-applies first.
        if (statusCode(e) === 422)
          throw ApplicationFailure.retryable(
            `${where}: ${resource} changed while removing key ${versions.otherKey}; retrying`,
            'KubernetesConflict',
          );
        throw kubeFailure(e, where, 'patch', resource);
      }
    }
  }

  /**
   * The ExternalSecrets that write the cluster's Secret: those listed in `externalSecrets`, else
   * every ExternalSecret in the namespace whose target is the Secret.
   */
  async function findExternalSecrets(cluster: ClusterTarget): Promise<ExternalSecret[]> {
    const { custom } = clientsFor(contextOf(cluster));
    const { namespace, secretName } = cluster;
    const where = whereOf(cluster);
    const notServed = () =>
      permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: the ExternalSecret API (${esoApiVersion}) is not served; install External Secrets Operator v0.20+ or use delivery push`,
      );
    if (cluster.externalSecrets?.length) {
      const found: ExternalSecret[] = [];
      for (const name of cluster.externalSecrets) {
        let es: ExternalSecret;
        try {
          es = (await custom.getNamespacedCustomObject({
            group: esoGroup,
            version: esoVersion,
            namespace,
            plural: externalSecretsPlural,
            name,
          })) as ExternalSecret;
        } catch (e) {
          if (statusCode(e) === 404) {
            const msg = serverMessage(e as ApiException<unknown>);
            if (/the server could not find the requested resource/.test(msg)) throw notServed();
            throw permanent(
              ErrorTypes.deliveryMisconfigured,
              `${where}: ExternalSecret ${namespace}/${name} (listed in clusters[].externalSecrets) does not exist; create it or fix the list`,
            );
          }
          throw kubeFailure(e, where, 'get', `externalsecrets ${namespace}/${name}`);
        }
        if (targetSecretName(es) !== secretName) {
          throw permanent(
            ErrorTypes.deliveryMisconfigured,
            `${where}: ExternalSecret ${namespace}/${name} writes Secret '${targetSecretName(es) ?? '?'}', not '${secretName}'; fix clusters[].externalSecrets or its spec.target.name`,
          );
        }
        found.push(es);
      }
      return found;
    }
    let list: { items?: ExternalSecret[] };
    try {
      list = (await custom.listNamespacedCustomObject({
        group: esoGroup,
        version: esoVersion,
        namespace,
        plural: externalSecretsPlural,
      })) as typeof list;
    } catch (e) {
      if (statusCode(e) === 404) throw notServed();
      throw kubeFailure(e, where, 'list', `externalsecrets in namespace ${namespace}`);
    }
    const found = (list.items ?? []).filter((es) => targetSecretName(es) === secretName);
    if (found.length === 0) {
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: no ExternalSecret in namespace ${namespace} writes Secret '${secretName}'; create one with spec.target.name: ${secretName}, list it in clusters[].externalSecrets, or use delivery push`,
      );
    }
    return found;
  }

  /** Checks the store an ExternalSecret reads can serve rotor's store entry; skipped when rotor may not read stores. */
  async function checkSecretStore(cluster: ClusterTarget, es: ExternalSecret, store: Store): Promise<void> {
    const { custom } = clientsFor(contextOf(cluster));
    const where = whereOf(cluster);
    const esName = `ExternalSecret ${cluster.namespace}/${es.metadata?.name ?? '?'}`;
    const ref = es.spec?.secretStoreRef;
    const kind = ref?.kind ?? 'SecretStore';
    if (!ref?.name)
      throw permanent(ErrorTypes.deliveryMisconfigured, `${where}: ${esName} has no spec.secretStoreRef.name`);
    let obj: SecretStoreObject;
    try {
      obj = (
        kind === 'ClusterSecretStore'
          ? await custom.getClusterCustomObject({
              group: esoGroup,
              version: esoVersion,
              plural: 'clustersecretstores',
              name: ref.name,
            })
          : await custom.getNamespacedCustomObject({
              group: esoGroup,
              version: esoVersion,
              namespace: cluster.namespace,
              plural: 'secretstores',
              name: ref.name,
            })
      ) as SecretStoreObject;
    } catch (e) {
      if (statusCode(e) === 404)
        throw permanent(
          ErrorTypes.deliveryMisconfigured,
          `${where}: ${esName} uses ${kind} ${ref.name}, which does not exist`,
        );
      if (statusCode(e) === 403) return;
      throw kubeFailure(e, where, 'get', `${kind} ${ref.name}`);
    }
    const mismatch = storeMismatch(obj, store);
    if (mismatch)
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: ${esName} uses ${kind} ${ref.name}, which ${mismatch}`,
      );
  }

  async function deliverEso({ cluster, versions }: ClusterInput): Promise<void> {
    const { custom } = clientsFor(contextOf(cluster));
    const where = whereOf(cluster);
    const found = await findExternalSecrets(cluster);
    // Everything is checked before anything is written, so a misconfiguration leaves the cluster untouched.
    for (const es of found) {
      const problem = forceSyncProblem(es);
      if (problem)
        throw permanent(
          ErrorTypes.deliveryMisconfigured,
          `${where}: ExternalSecret ${cluster.namespace}/${es.metadata?.name ?? '?'} ${problem}`,
        );
      await checkSecretStore(cluster, es, versions.store);
    }
    const stamp = new Date().toISOString();
    for (const es of found) {
      const name = es.metadata?.name ?? '';
      const body = {
        apiVersion: esoApiVersion,
        kind: 'ExternalSecret',
        metadata: { name, namespace: cluster.namespace, annotations: { [forceSyncAnnotation]: stamp } },
        spec: { data: pinnedData(es, versions) },
      };
      try {
        await custom.patchNamespacedCustomObject(
          {
            group: esoGroup,
            version: esoVersion,
            namespace: cluster.namespace,
            plural: externalSecretsPlural,
            name,
            body,
            fieldManager,
            force: true,
          },
          serverSideApply,
        );
      } catch (e) {
        throw kubeFailure(e, where, 'patch', `externalsecrets ${cluster.namespace}/${name}`);
      }
    }
  }

  function checkSecret(secret: V1Secret | undefined, v: ClusterVersions): SecretCheck {
    if (!secret) return { ok: false, summary: 'Secret does not exist', observed: {} };
    const data = secret.data ?? {};
    const observed: Record<string, string> = {};
    const parts: string[] = [];
    let ok = true;
    const expect = (key: string, ref: VersionRef, alt: VersionRef | null) => {
      const raw = data[key];
      if (raw === undefined) {
        ok = false;
        parts.push(`${key}: missing (expected version ${ref.version})`);
        return;
      }
      const fp = deps.fingerprint(decode(raw));
      observed[key] = fp;
      if (fp === ref.fingerprint) {
        parts.push(`${key}: matches version ${ref.version}`);
        return;
      }
      ok = false;
      parts.push(
        `${key}: does not match version ${ref.version}${alt && fp === alt.fingerprint ? ` (holds version ${alt.version})` : ''}`,
      );
    };
    expect(v.currentKey, v.current, v.other);
    if (v.other) expect(v.otherKey, v.other, v.current);
    else if (data[v.otherKey] !== undefined) {
      ok = false;
      parts.push(`${v.otherKey}: present, expected absent`);
    }
    return { ok, summary: parts.join('; '), observed };
  }

  /**
   * Rolls out each listed workload once per token (pod-template annotation, merge patch: an equal
   * token is a no-op, so retries never restart pods twice) and waits until every rollout is
   * complete and available, watching each workload by name.
   */
  async function rollOut(
    input: ClusterInput,
    token: string,
    signal: AbortSignal,
    onRestart: (r: WatchRestart) => void,
    note: (workload: string, state: string) => void,
  ): Promise<string[]> {
    const { cluster } = input;
    const { kc, apps } = clientsFor(contextOf(cluster));
    const namespace = cluster.namespace;
    const patch = { spec: { template: { metadata: { annotations: { [rolloutAnnotation]: token } } } } };
    const done: string[] = [];
    await Promise.all(
      cluster.workloads.map(async (w) => {
        const id = `${w.kind}/${w.name}`;
        const isDeployment = w.kind === 'Deployment';
        try {
          if (isDeployment) await apps.patchNamespacedDeployment({ name: w.name, namespace, body: patch }, mergePatch);
          else await apps.patchNamespacedStatefulSet({ name: w.name, namespace, body: patch }, mergePatch);
        } catch (e) {
          throw kubeFailure(
            e,
            whereOf(cluster),
            'patch',
            `${isDeployment ? 'deployments' : 'statefulsets'} ${namespace}/${w.name}`,
          );
        }
        await waitForObject<V1Deployment | V1StatefulSet, true>(
          {
            kubeconfig: kc,
            path: `/apis/apps/v1/namespaces/${namespace}/${isDeployment ? 'deployments' : 'statefulsets'}`,
            name: w.name,
            list: async () => {
              const obj = isDeployment
                ? await apps.readNamespacedDeployment({ name: w.name, namespace })
                : await apps.readNamespacedStatefulSet({ name: w.name, namespace });
              return { items: [obj], metadata: { resourceVersion: obj.metadata?.resourceVersion } };
            },
          },
          (obj) => {
            const state = rolloutState(obj);
            note(id, `${id}: ${state.summary}`);
            return state.complete ? true : undefined;
          },
          { signal, onRestart },
        );
        done.push(id);
      }),
    );
    return done.sort();
  }

  return {
    /**
     * Makes the cluster serve `input.versions`: current under `currentKey`, other under `otherKey`
     * (absent when other is null). push: server-side applies the Secret; eso: pins the feeding
     * ExternalSecrets' remote refs to the versions and forces a refresh; observe: writes nothing.
     * Idempotent. Fails DeliveryMisconfigured / PermissionDenied (non-retryable) with what to fix.
     */
    async deliverToCluster(input: ClusterInput): Promise<void> {
      if (input.cluster.delivery === 'push') await deliverPush(input);
      else if (input.cluster.delivery === 'eso') await deliverEso(input);
    },

    /**
     * Waits, watching the Secret, until it holds exactly the expected rotation keys with the
     * expected fingerprints (and, for eso, every feeding ExternalSecret reports it synced its
     * current spec). Heartbeats while waiting and honours cancellation; after `cluster.timeout`
     * (default 2 min) fails ClusterNotConverged with what was last observed. Workloads are
     * reported, not rolled out.
     */
    async verifyCluster(input: ClusterInput): Promise<ClusterReport> {
      const { cluster, versions } = input;
      const started = Date.now();
      const where = whereOf(cluster);
      const { kc, core, custom } = clientsFor(contextOf(cluster));
      const { namespace, secretName } = cluster;
      const timeoutMs = cluster.timeout ?? defaultVerifyTimeoutMs;
      const ctx = activityContext();

      const deadline = new AbortController();
      const stop = new AbortController();
      const timer = setTimeout(() => deadline.abort(new ConvergenceTimeout()), timeoutMs);
      const signal = AbortSignal.any([deadline.signal, stop.signal, ...(ctx ? [ctx.cancellationSignal] : [])]);
      let lastSecret = 'not read yet';
      let lastWatchRestart: string | undefined;
      const lastEs = new Map<string, string>();
      const onRestart = (r: WatchRestart) => {
        if (r.reason !== 'ended') lastWatchRestart = `${r.reason}${r.detail ? `: ${r.detail}` : ''}`;
      };
      const progress = () => ({
        cluster: cluster.name,
        secret: `${namespace}/${secretName}`,
        lastObserved: lastSecret,
        externalSecrets: Object.fromEntries(lastEs),
      });
      const beat = ctx ? setInterval(() => ctx.heartbeat(progress()), 2000) : undefined;
      ctx?.heartbeat(progress());

      try {
        const esNames =
          cluster.delivery === 'eso' ? (await findExternalSecrets(cluster)).map((es) => es.metadata?.name ?? '') : [];
        const secretWait = waitForObject<V1Secret, SecretCheck>(
          {
            kubeconfig: kc,
            path: `/api/v1/namespaces/${namespace}/secrets`,
            name: secretName,
            // A GET, not a list: rotor's Role grants get/watch on its one Secret and never `list` on Secrets.
            list: async () => {
              try {
                const secret = await core.readNamespacedSecret({ name: secretName, namespace });
                return { items: [secret], metadata: { resourceVersion: secret.metadata?.resourceVersion } };
              } catch (e) {
                if (e instanceof ApiException && e.code === 404) return { items: [], metadata: {} };
                throw e;
              }
            },
          },
          (secret) => {
            const check = checkSecret(secret, versions);
            lastSecret = check.summary;
            return check.ok ? check : undefined;
          },
          { signal, onRestart },
        );
        const esWaits = esNames.map((name) =>
          waitForObject<ExternalSecret, true>(
            {
              kubeconfig: kc,
              path: `/apis/${esoApiVersion}/namespaces/${namespace}/${externalSecretsPlural}`,
              name,
              list: async () =>
                (await custom.listNamespacedCustomObject({
                  group: esoGroup,
                  version: esoVersion,
                  namespace,
                  plural: externalSecretsPlural,
                  fieldSelector: `metadata.name=${name}`,
                })) as { items: ExternalSecret[]; metadata?: { resourceVersion?: string } },
            },
            (es) => {
              if (!es) {
                lastEs.set(name, `ExternalSecret ${name}: does not exist`);
                return undefined;
              }
              const state = syncState(es);
              lastEs.set(name, state.summary);
              return state.synced ? true : undefined;
            },
            { signal, onRestart },
          ),
        );
        const [secret] = await Promise.all([secretWait, ...esWaits]);
        // Only now that the Secret reads back right: a rollout started earlier would restart pods onto stale values.
        const rolledOutWorkloads = input.rolloutToken
          ? await rollOut(input, input.rolloutToken, signal, onRestart, (w, state) => lastEs.set(w, state))
          : [];
        const pendingRollouts = input.rolloutToken ? [] : cluster.workloads.map((w) => `${w.kind}/${w.name}`);
        const notes = pendingRollouts.length
          ? [`workloads not rolled out at this step (${pendingRollouts.join(', ')})`]
          : [];
        return {
          cluster: cluster.name,
          observed: secret.observed,
          rolledOutWorkloads,
          pendingRollouts,
          externalSecrets: esNames,
          convergedAfterMs: Date.now() - started,
          notes,
        };
      } catch (e) {
        if (deadline.signal.aborted && e === deadline.signal.reason) {
          const es = [...lastEs.values()];
          throw permanent(
            ErrorTypes.clusterNotConverged,
            `${where}: secret ${namespace}/${secretName} did not converge within ${Math.round(timeoutMs / 1000)}s; last observed: ${lastSecret}` +
              (es.length ? `; ${es.join('; ')}` : '') +
              (lastWatchRestart ? `; last watch problem: ${lastWatchRestart}` : ''),
          );
        }
        if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason as Error;
        throw kubeFailure(e, where, 'watch', `secret ${namespace}/${secretName}`);
      } finally {
        clearTimeout(timer);
        clearInterval(beat);
        stop.abort();
      }
    },

    /**
     * Read-only: what a rotation would touch in this cluster (namespace, the Secret's key names,
     * ExternalSecrets, workloads) and what would make delivery fail. Unreachable or forbidden
     * parts become `problems` rather than errors, so a plan covers every cluster.
     */
    async clusterPlan({ cluster, store }: { cluster: ClusterTarget; store?: Store }): Promise<ClusterPlan> {
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
        problems: [],
      };
      let clients: Clients;
      try {
        clients = clientsFor(context);
      } catch (e) {
        plan.problems.push((e as Error).message);
        return plan;
      }
      const { core, apps } = clients;
      const call = <T>(what: string, work: Promise<T>) =>
        withTimeout(`${cluster.name}: ${what}`, readOnlyCallTimeoutMs, work);
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
          managedBy: secret.metadata?.labels?.['app.kubernetes.io/managed-by'],
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
          const found = await call('find ExternalSecrets', findExternalSecrets(cluster));
          for (const es of found) {
            const ref = es.spec?.secretStoreRef;
            let problem = forceSyncProblem(es);
            if (!problem && store) {
              problem = await checkSecretStore(cluster, es, store).then(
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
      return plan;
    },

    /**
     * Blast-radius check for `rotor plan`: ExternalSecrets, in kubeconfig contexts the playbook does
     * not list, that read the same store entry (by remote key). Such clusters would keep serving
     * the old version after revoke. Contexts that cannot be scanned are returned, not thrown.
     */
    async findUnlistedConsumers({
      contexts,
      store,
      listedClusters,
    }: UnlistedConsumersInput): Promise<UnlistedConsumersResult> {
      const listed = new Set(listedClusters.map(contextOf));
      const scan = (contexts ?? deps.kubeconfig.getContexts().map((c) => c.name)).filter((c) => !listed.has(c));
      const keys = new Set(remoteKeysOf(store));
      const result: UnlistedConsumersResult = { consumers: [], unscanned: [] };
      await Promise.all(
        scan.map(async (context) => {
          let items: ExternalSecret[];
          try {
            const { custom } = clientsFor(context);
            const list = (await withTimeout(
              `${context}: list ExternalSecrets`,
              readOnlyCallTimeoutMs,
              custom.listClusterCustomObject({ group: esoGroup, version: esoVersion, plural: externalSecretsPlural }),
            )) as { items?: ExternalSecret[] };
            items = list.items ?? [];
          } catch (e) {
            // No ExternalSecret API in that cluster: nothing there can consume the entry through ESO.
            if (statusCode(e) === 404) return;
            result.unscanned.push({ context, reason: e instanceof ApplicationFailure ? e.message : errorText(e) });
            return;
          }
          for (const es of items) {
            if (!referencedKeys(es).some((k) => keys.has(k))) continue;
            const ref = es.spec?.secretStoreRef;
            const consumer: UnlistedConsumer = {
              context,
              namespace: es.metadata?.namespace ?? '',
              externalSecret: es.metadata?.name ?? '',
              secretName: targetSecretName(es) ?? '',
              store: `${ref?.kind ?? 'SecretStore'}/${ref?.name ?? '?'}`,
            };
            result.consumers.push(consumer);
          }
        }),
      );
      result.consumers.sort((a, b) =>
        `${a.context}/${a.namespace}/${a.externalSecret}`.localeCompare(
          `${b.context}/${b.namespace}/${b.externalSecret}`,
        ),
      );
      return result;
    },
  };
}

/** The per-cluster activities, as registered on the worker. */
export type KubernetesActivities = ReturnType<typeof createClusterActivities>;
