/**
 * The worker fleet as it is deployed: the worker image built (or taken from the cache) and imported
 * into cluster-a's node, the chart installed with two replicas into a namespace of cluster-a, its
 * kubeconfig Secret giving the workers the contexts cluster-a/b/c. Rotations start from a client
 * only, on a task queue of the release's own, so no worker process on the host can take a task:
 * the task queue's pollers are the two pods, and every task in the histories names one of them
 * (the chart sets each worker's identity to its pod's name).
 *
 * A three-cluster rotation ends rotated in all three clusters. Then one worker pod is deleted in
 * the middle of distribute, while its attempt waits on cluster-c (a stall proxy holds the
 * apiserver's answers): the other replica finishes the rotation. An admission policy refuses new
 * pods in the namespace meanwhile, so the Deployment's replacement cannot take the retry.
 *
 * The pods are what the chart renders (restricted profile, the pod network, probes) and use real
 * identities, nothing of the stack's admin: Vault's Kubernetes auth with their projected token
 * (checked by TokenReview against cluster-a), bound to one Vault policy for the test's store paths;
 * in cluster-a the pod's own ServiceAccount with exactly the RBAC `rotor rbac` computes, rendered by
 * the chart; in cluster-b/c that ServiceAccount's namesake there, with the RBAC `rotor rbac` prints
 * for those clusters (a kubeconfig Secret whose users are token files). They reach the stack's
 * loopback services through a pod gateway on the node (dev/local-stack/workers/chart-release.ts). A test
 * between the two shows the identities hold: the tokens Vault issued carry only the chart's policy,
 * a store outside it is refused by Vault, and a namespace outside the RBAC by the apiserver, naming
 * the ServiceAccount. (It runs before the pod deletion, whose replacement pod is held back a while.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { ErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationInput, RotationResult } from '../../core/status';
import type { WorkerImage } from '../../dev/image/worker-image';
import {
  createKeysSecret,
  imageValues,
  installWorkerChart,
  podKubeconfig,
  stackAccess,
  stackReleaseValues,
  workerImageOnNode,
} from '../../dev/local-stack/workers/chart-release';
import type { ChartRelease, StackAccess } from '../../dev/local-stack/workers/chart-release';
import { activityStarts, identitiesIn, toHistoryJson } from '../helpers/history';
import { holdProxy } from '../helpers/hold-proxy';
import type { HoldProxy } from '../helpers/hold-proxy';
import { freshNamespace, kubeconfigFor, purgeNamespace, secretData, statusOf } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { generatedIdentityTokens } from '../../dev/local-stack/workers/rbac-identity';
import { waitForPhaseOf } from '../helpers/rotation-wait';
import { useStackEnv } from '../helpers/stack-env';
import { stallProxy } from '../helpers/stall-proxy';
import { taskQueuePollers } from '../helpers/task-queue';
import type { StallProxy } from '../helpers/stall-proxy';
import { vaultTestStore } from '../helpers/stores';
import { until } from '../helpers/until';
import { kvRotationRules, vaultKubernetesRole } from '../../dev/local-stack/workers/vault-kubernetes-auth';
import type { VaultKubernetesRole } from '../../dev/local-stack/workers/vault-kubernetes-auth';

const env = useStackEnv();
const clusters = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const kcA = kubeconfigFor('cluster-a');
const coreA = kcA.makeApiClient(CoreV1Api);
const id = randomBytes(4).toString('hex');
const taskQueue = `chart-fleet-${id}`;
const { TaskQueueType } = temporal.api.enums.v1;
/** The store paths the chart's Vault policy covers. */
const storePrefix = `chart-${id}/`;
const serviceAccount = 'rotor';

let image: WorkerImage;
let client: Client;
let ns = '';
let release: ChartRelease | undefined;
let vault: HoldProxy;
let kubeC: StallProxy;
let access: StackAccess | undefined;
let vaultRole: VaultKubernetesRole | undefined;
let rotations: Record<'a' | 'b', Awaited<ReturnType<typeof threeClusterRotation>>>;

/** Identities polling the release's task queue for `type` tasks. */
const pollers = (type: temporal.api.enums.v1.TaskQueueType) => taskQueuePollers(client, taskQueue, type);

/** Names of the release's running pods, once both replicas poll both kinds of task (and nothing else does). */
async function twoPollingPods(): Promise<string[]> {
  return until(
    'two worker pods never polled the task queue',
    async () => {
      if (!release) throw new Error('the chart was not installed');
      const pods = await release.pods();
      for (const p of pods) {
        const ended = p.status?.containerStatuses?.[0]?.state?.terminated;
        if (ended) {
          const log = await coreA
            .readNamespacedPodLog({ namespace: ns, name: p.metadata?.name ?? '' })
            .catch(() => '(no log)');
          throw new Error(`worker pod ${p.metadata?.name} exited (${ended.exitCode}):\n${log}`);
        }
      }
      const names = pods.map((p) => p.metadata?.name ?? '').sort();
      if (names.length !== 2) return undefined;
      const [wf, act] = await Promise.all([
        pollers(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        pollers(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
      ]);
      return names.every((n) => wf.includes(n) && act.includes(n)) ? names : undefined;
    },
    300_000,
  );
}

/** Fresh namespaces in all three clusters, and a playbook pushing the secret into each. */
async function threeClusterRotation(label: string) {
  const ts = await vaultTestStore(`fleet-${randomUUID()}`, undefined, storePrefix);
  const targets = await Promise.all(
    clusters.map(async (name) => ({ name, namespace: await freshNamespace(kubeconfigFor(name), `fleet-${label}`) })),
  );
  const playbook = testPlaybook(ts.store, {
    clusters: targets.map((t) => ({ ...t, delivery: 'push' as const, secretName: 'app-credential' })),
  });
  const start = () => startRotation(playbook);
  /** Every cluster serves the store's current value. */
  const deliveredEverywhere = async () => {
    const { currentValue } = await ts.snapshot();
    const served = await Promise.all(
      targets.map(async (t) => (await secretData(kubeconfigFor(t.name), t.namespace, 'app-credential'))['value']),
    );
    return served.map((v) => v === currentValue);
  };
  const cleanup = () => Promise.all(targets.map((t) => purgeNamespace(kubeconfigFor(t.name), t.namespace)));
  return { playbook, ts, start, deliveredEverywhere, cleanup };
}

function startRotation(playbook: Playbook) {
  return client.workflow.start('rotationWorkflow', {
    taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, trigger: 'manual', requestedBy: 'chart-fleet-test' } satisfies RotationInput],
  });
}

/** The failures a run ended with, outermost first: type and message of each ApplicationFailure. */
async function failuresOf(h: WorkflowHandle): Promise<{ type: string; message: string }[]> {
  const err = await h.result().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!err) throw new Error(`${h.workflowId} ended rotated`);
  const out: { type: string; message: string }[] = [];
  for (let e: Error | undefined = err; e; e = e.cause as Error | undefined)
    if (e instanceof ApplicationFailure) out.push({ type: e.type ?? '', message: e.message });
  if (!out.length) throw new Error(`${h.workflowId} failed without an ApplicationFailure: ${inspect(err)}`);
  return out;
}

/** The activity `type` the server records as started and not finished, and by whom. */
async function runningActivity(h: WorkflowHandle, type: string): Promise<{ attempt: number; identity: string }> {
  const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  return until(`${type} never ran`, async () => {
    const { raw } = await h.describe();
    const a = (raw.pendingActivities ?? []).find((p) => p.activityType?.name === type && p.state === started);
    return a ? { attempt: a.attempt ?? 0, identity: a.lastWorkerIdentity ?? '' } : undefined;
  });
}

/**
 * An admission policy refusing every new pod in the release's namespace, in effect once a dry-run
 * pod is refused by it (policies reach the apiserver's admission a moment after they are made).
 */
async function refuseNewPods(): Promise<() => Promise<void>> {
  const admission = kcA.makeApiClient(AdmissionregistrationV1Api);
  const name = `chart-fleet-${id}-no-new-pods`;
  const message = 'chart-fleet test: no new worker pods while the other replica finishes';
  await admission.createValidatingAdmissionPolicy({
    body: {
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        },
        validations: [{ expression: 'false', message }],
      },
    },
  });
  await admission.createValidatingAdmissionPolicyBinding({
    body: {
      metadata: { name },
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
      },
    },
  });
  const remove = async () => {
    await admission.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);
    await admission.deleteValidatingAdmissionPolicy({ name }).catch(() => undefined);
  };
  const probe = {
    metadata: { name: 'admission-probe' },
    spec: { containers: [{ name: 'probe', image: image.ref }] },
  };
  await until('the no-new-pods policy never took effect', async () => {
    const refused = await coreA.createNamespacedPod({ namespace: ns, body: probe, dryRun: 'All' }).then(
      () => false,
      (e: unknown) => String((e as { body?: unknown }).body).includes(message),
    );
    return refused || undefined;
  });
  return remove;
}

beforeAll(async () => {
  image = await workerImageOnNode();
  client = await connectClient();
  ns = await freshNamespace(kcA, 'chart-fleet');
  rotations = { a: await threeClusterRotation('a'), b: await threeClusterRotation('b') };
  const granted = Object.values(rotations).map((r) => r.playbook);

  // Vault through a proxy that can hold one answer (the new version's write), cluster-c's apiserver
  // through one that can hold all of them; the pods reach both, and the rest, through the gateway.
  vault = await holdProxy(env['VAULT_ADDR'] ?? '');
  const server = new URL(kubeconfigFor('cluster-c').getCurrentCluster()?.server ?? '');
  kubeC = await stallProxy({ host: server.hostname, port: Number(server.port) });
  access = await stackAccess(kcA, {
    namespace: ns,
    vault: vault.url,
    kube: { 'cluster-c': `https://${kubeC.address}` },
  });

  // Identities: a Vault role for the release's ServiceAccount with the store paths only, and in
  // cluster-b/c what `rotor rbac` prints for them (cluster-a's comes with the chart).
  const rules = kvRotationRules('secret', `${storePrefix}*`);
  vaultRole = await vaultKubernetesRole(kcA, { mount: `k8s-${ns}`, namespace: ns, serviceAccount, rules });
  const subject = { serviceAccount, namespace: ns };
  const remote = await generatedIdentityTokens(granted, subject, (c) => c !== 'cluster-a');

  await createKeysSecret(kcA, ns);
  const secret = (name: string, stringData: Record<string, string>) =>
    coreA.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData } });
  await secret('rotor-kubeconfig', {
    kubeconfig: podKubeconfig(access),
    ...Object.fromEntries([...remote].map(([c, token]) => [`${c}.token`, token])),
  });

  release = await installWorkerChart(kcA, {
    name: `fleet-${id}`,
    namespace: ns,
    kubeconfigFile: env['KUBECONFIG'] ?? '',
    context: 'cluster-a',
    values: {
      ...stackReleaseValues({ access, vaultRole, playbooks: granted, subject }),
      replicaCount: 2,
      image: imageValues(image),
      taskQueue,
      // Versioning has its own test (chart-upgrade.test.ts): unversioned, the task queue is the release's alone.
      versioning: { enabled: false },
      kubeconfig: { secretName: 'rotor-kubeconfig' },
      serviceAccount: { create: true, name: serviceAccount },
      // A deleted pod hands its running attempt back after 1 s and stops waiting for it after 5 s.
      shutdown: { graceSeconds: 1, forceSeconds: 5 },
    },
  });
}, 900_000);

afterAll(async () => {
  await release?.uninstall().catch((e: unknown) => console.error(`helm uninstall: ${String(e)}`));
  await Promise.all(Object.values(rotations ?? {}).map((r) => r.cleanup()));
  if (ns) {
    await purgeNamespace(kcA, ns);
    // generatedIdentityTokens made the ServiceAccount's namespace in cluster-b/c.
    for (const c of clusters.slice(1)) await purgeNamespace(kubeconfigFor(c), ns).catch(() => undefined);
  }
  await vaultRole?.close();
  await access?.close();
  await client?.connection.close();
  await vault?.close();
  await kubeC?.close();
}, 180_000);

describe('the chart with in-cluster workers only', () => {
  it('rotates a three-cluster playbook with the two pods, and no worker on the host', async () => {
    const pods = await twoPollingPods();
    const rotation = rotations.a;
    const h = await rotation.start();
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(await rotation.deliveredEverywhere()).toEqual([true, true, true]);
    // Only the release's pods worked on it, and only they poll its task queue.
    const worked = identitiesIn(toHistoryJson(await h.fetchHistory()));
    expect(worked.length).toBeGreaterThan(0);
    expect(worked.filter((i) => !pods.includes(i))).toEqual([]);
    expect(await pollers(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)).toEqual(pods);
    expect(await pollers(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)).toEqual(pods);
  }, 600_000);

  it("has only its own identities: the chart's Vault policy and its ServiceAccount's RBAC", async () => {
    const pods = await twoPollingPods();
    // Each pod logged in through the release's Vault role: every token it issued carries the chart's
    // policy and Vault's `default`, nothing else (no static token reached the pods).
    const issued = await vaultRole?.issuedTokenPolicies();
    expect(issued?.length).toBeGreaterThanOrEqual(pods.length);
    for (const p of issued ?? []) expect(p).toEqual(['default', vaultRole?.policy ?? ''].sort());

    // The admin policy allows every path and namespace; the pods' identities do not.
    const elsewhere = await freshNamespace(kcA, 'fleet-outside');
    try {
      const target = { name: 'cluster-a', namespace: elsewhere, delivery: 'push' as const, secretName: 'app' };
      // A store outside the Vault policy's paths: Vault refuses the pods' token.
      const outsideStore = await vaultTestStore(`fleet-${randomUUID()}`, undefined, `elsewhere-${id}/`);
      // Into rotation a's cluster-a Secret, which the RBAC covers, so only Vault can refuse it (plan lists
      // the target namespace's pods before it reads the store).
      const covered = rotations?.a.playbook.spec.clusters.filter((c) => c.name === 'cluster-a') ?? [];
      expect(covered).toHaveLength(1);
      const vaultRefused = await failuresOf(
        await startRotation(testPlaybook(outsideStore.store, { clusters: covered })),
      );
      expect(vaultRefused.map((f) => f.type)).toContain(ErrorTypes.permissionDenied);
      expect(vaultRefused.find((f) => f.type === ErrorTypes.permissionDenied)?.message).toMatch(
        new RegExp(`secret/elsewhere-${id}/.*: permission denied`),
      );
      expect((await outsideStore.snapshot()).pendingVersion).toBeNull();

      // A namespace outside the chart's RBAC: the apiserver refuses the pod's ServiceAccount, by name.
      const insideStore = await vaultTestStore(`fleet-${randomUUID()}`, undefined, storePrefix);
      const kubeRefused = await failuresOf(
        await startRotation(testPlaybook(insideStore.store, { clusters: [target] })),
      );
      const denied = kubeRefused.find((f) => f.type === ErrorTypes.permissionDenied);
      console.info(`chart-fleet: refusals ${JSON.stringify({ vaultRefused, kubeRefused })}`);
      expect(denied?.message).toContain(`system:serviceaccount:${ns}:${serviceAccount}`);
      expect(await statusOf(coreA.readNamespacedSecret({ namespace: elsewhere, name: 'app' }))).toBe(404);
    } finally {
      await purgeNamespace(kcA, elsewhere);
    }
  }, 600_000);

  it('ends rotated when the pod running distribute is deleted, finished by the other replica', async () => {
    const pods = await twoPollingPods();
    const rotation = rotations.b;
    let allowNewPods: (() => Promise<void>) | undefined;
    try {
      // Position the stall exactly: hold the new version's write (create), stall cluster-c, then let
      // create finish. The next answer cluster-c owes is to distribute, which then waits for it.
      const written = vault.holdResponseTo(/^POST \/v1\/secret\/data\//m);
      const h = await rotation.start();
      await written;
      const stalled = kubeC.stall();
      vault.release();
      await stalled;
      expect(await waitForPhaseOf(client, h, ['distribute'])).toBe('distribute');
      const running = await runningActivity(h, 'syncClusterBatch');
      expect(running.attempt).toBe(1);
      expect(pods).toContain(running.identity);
      const victim = running.identity;
      const survivor = pods.find((p) => p !== victim);

      allowNewPods = await refuseNewPods();
      await coreA.deleteNamespacedPod({ namespace: ns, name: victim });
      // SIGTERM: it stops polling, cancels its attempt after 1 s (which still waits on cluster-c) and
      // stops waiting for it after 5 s.
      await until(
        `pod ${victim} was never removed`,
        async () => (await statusOf(coreA.readNamespacedPod({ namespace: ns, name: victim }))) === 404 || undefined,
        120_000,
      );
      kubeC.release();

      const result = (await h.result()) as RotationResult;
      expect(result.outcome).toBe('rotated');
      expect(await rotation.deliveredEverywhere()).toEqual([true, true, true]);
      // distribute (the run's first cluster step) was retried once the deleted pod's attempt went
      // silent, and the other replica ran the attempt that completed it, and everything after.
      const history = toHistoryJson(await h.fetchHistory());
      const [distribute] = activityStarts(history, 'syncClusterBatch');
      console.info(`chart-fleet: distribute ${JSON.stringify(distribute)} after deleting ${victim}`);
      // The deleted pod's attempt never reported (its request still waited on cluster-c): the server
      // noticed it by its heartbeat timeout and gave the retry to the one pod left polling.
      expect(distribute).toMatchObject({
        attempt: 2,
        identity: survivor,
        previousAttemptTimedOut: true,
        previousTimeout: 'TIMEOUT_TYPE_HEARTBEAT',
      });
      expect(identitiesIn(history).filter((i) => !pods.includes(i))).toEqual([]);
      // From the completed retry on, every task of the run was the survivor's.
      const retried = history.events.findIndex(
        (e) => (e['activityTaskStartedEventAttributes'] as { attempt?: number } | undefined)?.attempt === 2,
      );
      expect(identitiesIn({ events: history.events.slice(retried) })).toEqual([survivor]);
    } finally {
      kubeC.release();
      vault.release();
      await allowNewPods?.();
    }
  }, 600_000);
});
