/**
 * A `helm upgrade` of the worker chart to a new build while a rotation waits for approval, with
 * Worker Versioning: two worker images, A (rotor's workflow code) and B (the same with one more
 * workflow, test/fixtures/workflows-next, so its bundle hash, and with it its build id, differ).
 * The chart runs A, in-cluster identities only (Vault's Kubernetes auth, the pod's own
 * ServiceAccount with the RBAC `rotor rbac` computes, no kubeconfig), and A is made current.
 *
 * A rotation starts on A and waits at its approval gate. `helm upgrade` to B moves A to
 * `versioning.draining`: A's Deployment and its pod stay exactly as they were, B's Deployment
 * starts beside it, and B is made current (as a rollout does). A new rotation and a run of the
 * workflow only B has go to B's pod; the open rotation, approved, finishes on A's pod, and its
 * history shows only A's build id. A last `helm upgrade` without A removes A's Deployment.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { AppsV1Api } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationInput, RotationResult } from '../../core/status';
import type { WorkerImage } from '../../dev/image/worker-image';
import { setCurrentVersion } from '../../adapters/temporal/worker-deployment';
import { approveUpdate } from '../../workflows/definitions';
import {
  createKeysSecret,
  imageValues,
  installWorkerChart,
  stackAccess,
  stackReleaseValues,
  workerImageOnNode,
} from '../../dev/local-stack/workers/chart-release';
import type { ChartRelease, StackAccess } from '../../dev/local-stack/workers/chart-release';
import { buildIdsOf, identitiesIn, toHistoryJson } from '../helpers/history';
import { freshNamespace, kubeconfigFor, purgeNamespace, secretData, statusOf } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { waitForPhaseOf } from '../helpers/rotation-wait';
import { runRotor } from '../helpers/cli';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { until } from '../helpers/until';
import { kvRotationRules, vaultKubernetesRole } from '../../dev/local-stack/workers/vault-kubernetes-auth';
import type { VaultKubernetesRole } from '../../dev/local-stack/workers/vault-kubernetes-auth';

const env = useStackEnv();
const kcA = kubeconfigFor('cluster-a');
const apps = kcA.makeApiClient(AppsV1Api);
const id = randomBytes(4).toString('hex');
const taskQueue = `chart-upgrade-${id}`;
const deploymentName = `rotor-upgrade-${id}`;
const storePrefix = `chart-upgrade-${id}/`;
const serviceAccount = 'rotor';
const nextWorkflows = fileURLToPath(new URL('../fixtures/workflows-next/index.ts', import.meta.url));

let imageA: WorkerImage;
let imageB: WorkerImage;
let client: Client;
let ns = '';
let appNs = '';
let release: ChartRelease | undefined;
let access: StackAccess | undefined;
let vaultRole: VaultKubernetesRole | undefined;
let baseValues: Record<string, unknown>;
const rotations: { playbook: Playbook; ts: TestStore }[] = [];

/** A rotation delivering to cluster-a as the pod's own ServiceAccount (in-cluster config), with an approval gate. */
async function gatedRotation(): Promise<{ playbook: Playbook; ts: TestStore }> {
  const ts = await vaultTestStore(`upgrade-${randomUUID()}`, undefined, storePrefix);
  const playbook = testPlaybook(ts.store, {
    clusters: [
      {
        name: 'cluster-a',
        context: 'inClusterContext',
        namespace: appNs,
        delivery: 'push',
        secretName: `app-${rotations.length}`,
      },
    ],
    approval: { beforeRevoke: true },
  });
  const r = { playbook, ts };
  rotations.push(r);
  return r;
}

function start(playbook: Playbook): Promise<WorkflowHandle> {
  return client.workflow.start('rotationWorkflow', {
    taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, trigger: 'manual', requestedBy: 'chart-upgrade-test' } satisfies RotationInput],
  });
}

/** The chart's values for `current`, with `draining` kept running beside it. */
function valuesFor(current: WorkerImage, draining: WorkerImage[]): Record<string, unknown> {
  return {
    ...baseValues,
    image: imageValues(current),
    versioning: {
      enabled: true,
      deploymentName,
      buildId: current.buildId,
      draining: draining.map((d) => ({ buildId: d.buildId, image: imageValues(d), replicas: 1 })),
    },
  };
}

/**
 * The one pod of `build`, once Ready: the worker reports ready once it polls its task queue (the
 * chart's readiness probe, /readyz). Its name.
 */
async function readyPodOf(build: WorkerImage): Promise<string> {
  return until(
    `no pod of build ${build.buildId} became ready`,
    async () => {
      const pods = (await release?.pods()) ?? [];
      const mine = pods.filter((p) => p.metadata?.labels?.['rotor.dev/build-id'] === build.buildId);
      const ended = mine.find((p) => p.status?.containerStatuses?.[0]?.state?.terminated);
      if (ended) throw new Error(`worker pod ${ended.metadata?.name} of build ${build.buildId} exited`);
      const [pod] = mine;
      const ready = pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return mine.length === 1 && ready ? pod?.metadata?.name : undefined;
    },
    300_000,
  );
}

/** Identities of the workflow tasks completed after event `from` (its index in the history). */
async function workflowTaskIdentitiesAfter(h: WorkflowHandle, from: number): Promise<string[]> {
  const history = toHistoryJson(await h.fetchHistory());
  return identitiesIn({ events: history.events.slice(from) });
}

beforeAll(async () => {
  imageA = await workerImageOnNode();
  imageB = await workerImageOnNode(nextWorkflows);
  client = await connectClient();
  ns = await freshNamespace(kcA, 'chart-upgrade');
  appNs = await freshNamespace(kcA, 'upgrade-app');
  // Both rotations' RBAC is granted up front: the chart's RBAC is the same for both builds.
  await gatedRotation();
  await gatedRotation();
  access = await stackAccess(kcA, { namespace: ns });
  vaultRole = await vaultKubernetesRole(kcA, {
    mount: `k8s-${ns}`,
    namespace: ns,
    serviceAccount,
    rules: kvRotationRules('secret', `${storePrefix}*`),
  });
  await createKeysSecret(kcA, ns);
  const subject = { serviceAccount, namespace: ns };
  baseValues = {
    ...stackReleaseValues({ access, vaultRole, playbooks: rotations.map((r) => r.playbook), subject }),
    replicaCount: 1,
    taskQueue,
    serviceAccount: { create: true, name: serviceAccount },
    shutdown: { graceSeconds: 1, forceSeconds: 5 },
  };
  release = await installWorkerChart(kcA, {
    name: `upgrade-${id}`,
    namespace: ns,
    kubeconfigFile: env['KUBECONFIG'] ?? '',
    context: 'cluster-a',
    values: valuesFor(imageA, []),
  });
}, 1_200_000);

afterAll(async () => {
  await release?.uninstall().catch((e: unknown) => console.error(`helm uninstall: ${String(e)}`));
  for (const n of [ns, appNs]) if (n) await purgeNamespace(kcA, n);
  await vaultRole?.close();
  await access?.close();
  await client?.connection.close();
}, 180_000);

describe('helm upgrade to a new build while a rotation waits', () => {
  it('keeps the open run on build A and its pod, sends new runs to build B, then removes A', async () => {
    expect(imageB.buildId).not.toBe(imageA.buildId);
    const podA = await readyPodOf(imageA);
    await setCurrentVersion(client, { deploymentName, buildId: imageA.buildId });

    const [first, second] = rotations;
    if (!first || !second) throw new Error('two rotations were prepared');
    const old = await start(first.playbook);
    expect(await waitForPhaseOf(client, old, ['approval'], 180_000)).toBe('approval');
    expect((await old.describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(
      temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
    );
    const waitingAt = (await old.fetchHistory()).events?.length ?? 0;

    // The upgrade: B becomes the release's build, A drains beside it with its pod untouched.
    await release?.upgrade(valuesFor(imageB, [imageA]));
    const podB = await readyPodOf(imageB);
    await setCurrentVersion(client, { deploymentName, buildId: imageB.buildId });
    expect(await readyPodOf(imageA)).toBe(podA);

    const fresh = await start(second.playbook);
    expect(await waitForPhaseOf(client, fresh, ['approval'], 180_000)).toBe('approval');
    // The workflow only build B has runs: new runs go to B.
    const probe = await client.workflow.start('nextBuildProbe', {
      taskQueue,
      workflowId: `next-build-probe-${id}`,
      args: ['chart-upgrade-test'],
    });
    expect(await probe.result()).toBe('next build, asked by chart-upgrade-test');

    for (const h of [old, fresh]) await h.executeUpdate(approveUpdate, { args: [{ by: 'chart-upgrade-approver' }] });
    expect(((await old.result()) as RotationResult).outcome).toBe('rotated');
    expect(((await fresh.result()) as RotationResult).outcome).toBe('rotated');

    const builds = {
      old: new Set(buildIdsOf(await old.fetchHistory())),
      fresh: new Set(buildIdsOf(await fresh.fetchHistory())),
      probe: new Set(buildIdsOf(await probe.fetchHistory())),
    };
    console.info(
      `chart-upgrade: A=${imageA.buildId} (${podA}) B=${imageB.buildId} (${podB}) ${JSON.stringify({
        old: [...builds.old],
        fresh: [...builds.fresh],
        probe: [...builds.probe],
      })}`,
    );
    expect(builds.old).toEqual(new Set([imageA.buildId]));
    expect(builds.fresh).toEqual(new Set([imageB.buildId]));
    expect(builds.probe).toEqual(new Set([imageB.buildId]));
    // After the upgrade the open run was worked on by A's pod alone, the one that started it.
    expect(await workflowTaskIdentitiesAfter(old, waitingAt)).toEqual([podA]);
    expect(identitiesIn(toHistoryJson(await fresh.fetchHistory()))).toEqual([podB]);
    for (const r of rotations) {
      const { currentValue } = await r.ts.snapshot();
      const secretName = r.playbook.spec.clusters[0]?.secretName ?? '';
      expect((await secretData(kcA, appNs, secretName))['value']).toBe(currentValue);
    }

    // Drained, in the server's word (docs/production.md step 4): the next upgrade leaves A out, and its Deployment goes.
    const drained = await runRotor(
      { ...process.env, ...env },
      'deployment',
      'wait-drained',
      imageA.buildId,
      '--deployment',
      deploymentName,
      '--timeout',
      '2m',
    );
    expect(drained, drained.stderr).toMatchObject({ code: 0 });
    await release?.upgrade(valuesFor(imageB, []));
    const deploymentA = `${release?.deployment ?? ''}-${imageA.buildId.toLowerCase()}`.slice(0, 63);
    await until(
      `Deployment ${deploymentA} was not removed`,
      async () =>
        (await statusOf(apps.readNamespacedDeployment({ namespace: ns, name: deploymentA }))) === 404 || undefined,
      120_000,
    );
    expect(await readyPodOf(imageB)).toBe(podB);
  }, 900_000);
});
