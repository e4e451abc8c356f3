/**
 * rotor's workflow ids held by a workflow that is not rotor's (issue 24): any Temporal client, even
 * without the codec key, can start a workflow under a store location's lock id
 * (`rotor-lock/<location>`) or a RotationPlaybook's rotation id (`rotate/<namespace>/<secret>`) on a
 * task queue of its own, where no worker runs it, and so hold off every rotation of that secret.
 * The rotation terminates a squatter of its lock id and rotates; rotor's controller terminates a
 * squatter of a request's rotation id and starts the rotation; a lock of rotor's is never touched.
 * Against the stack's Temporal, Vault and cluster-a apiserver, with the worker's real activities.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createActivities } from '../../activities/index';
import { WorkflowErrorTypes } from '../../core/failures';
import { incidentWorkflowId, rotationWorkflowId } from '../../core/ids';
import type { IncidentInput, IncidentReport } from '../../core/incident/types';
import { storeLockKey, storeLockWorkflowId } from '../../core/policy/lock';
import { resourceGroup } from '../../core/resources';
import type { RotationResult } from '../../core/status';
import { applyRotorResources } from '../../dev/local-stack/kube/rotor-resources';
import { depsFromEnv } from '../../workers/deps';
import { approveUpdate } from '../../workflows/definitions';
import { runRotor } from '../helpers/cli';
import { freshNamespace, kubeconfigFor } from '../helpers/kube';
import { startKubeController } from '../helpers/kube-controller';
import type { KubeController } from '../helpers/kube-controller';
import { createRotorObject, grant, kubeUser, namespaceTenantsPolicy, waitForCondition } from '../helpers/kube-users';
import { testPlaybook } from '../helpers/playbooks';
import { terminateRuns } from '../helpers/leftover-runs';
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import { failureOfRun, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const hex = randomBytes(4).toString('hex');
let tw: TestWorker;
/** The squatter: a Temporal client without the codec key. */
let plain: Client;

beforeAll(async () => {
  tw = await startTestWorker(createActivities(depsFromEnv(env)));
  plain = new Client({ connection: tw.client.connection, namespace: tw.client.options.namespace });
});
/** Every squatter started, so a failing test leaves none running on the shared server. */
const squatters: WorkflowHandleWithFirstExecutionRunId[] = [];
afterAll(async () => {
  await terminateRuns(plain, squatters);
  await tw?.close();
});

/** Starts a workflow of a type no worker has under `workflowId`, on a task queue no worker polls: it holds the id. */
async function squat(workflowId: string): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const h = await plain.workflow.start('squat', { taskQueue: `squatter-${randomUUID()}`, workflowId });
  squatters.push(h);
  return h;
}

/** How the squatter's run ended, and the reason it was terminated with. */
async function endOf(
  squatter: WorkflowHandleWithFirstExecutionRunId,
): Promise<{ status: string; reason: string | undefined }> {
  // That run, not whatever runs under the id now (rotor's lock or rotation took it since).
  const h = plain.workflow.getHandle(squatter.workflowId, squatter.firstExecutionRunId);
  const status = (await h.describe()).status.name;
  const history = await h.fetchHistory();
  const terminated = history.events?.find((e) => e.workflowExecutionTerminatedEventAttributes);
  return { status, reason: terminated?.workflowExecutionTerminatedEventAttributes?.reason ?? undefined };
}

const startRotation = (playbook: ReturnType<typeof testPlaybook>) =>
  tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, trigger: 'manual', requestedBy: 'alice@laptop' }],
  });

describe("a store location's lock id", () => {
  it('held by a workflow that is not rotor’s: the rotation terminates that run and rotates', async () => {
    const store = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `squat-${hex}/`);
    const before = await store.snapshot();
    const lockId = storeLockWorkflowId(storeLockKey(store.store, undefined));
    const squatter = await squat(lockId);
    expect((await squatter.describe()).status.name).toBe('RUNNING');

    const h = await startRotation(testPlaybook(store.store));
    const result = await tw.run(() => h.result() as Promise<RotationResult>);
    expect(result.outcome).toBe('rotated');
    const { state, expected } = await rotatedOnce(store, before, result.current.version);
    expect(state).toEqual(expected);
    const end = await endOf(squatter);
    expect(end.status).toBe('TERMINATED');
    expect(end.reason).toMatch(
      new RegExp(
        `^rotor: ${lockId.replace(/[/.]/g, '\\$&')} is the id of rotor's lock on this store location, held by a workflow that is not rotor's \\(its type is squat, not storeLockWorkflow, it runs on task queue squatter-`,
      ),
    );
  });

  it("held by another rotation's lock: refused as before, and that rotation and its lock are left alone", async () => {
    const store = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `squat-${hex}/`);
    const lockId = storeLockWorkflowId(storeLockKey(store.store, undefined));
    const first = await startRotation(testPlaybook(store.store, { approval: { beforeRevoke: true } }));
    await tw.run(() => waitForPhase(first, 'approval'));
    const lock = tw.client.workflow.getHandle(lockId);
    const lockRun = (await lock.describe()).runId;

    const second = await startRotation(testPlaybook(store.store));
    const failure = await failureOfRun(tw, second);
    expect(failure.type).toBe(WorkflowErrorTypes.storeLocked);
    expect(failure.message).toContain(`is being rotated by another rotation (lock ${lockId})`);
    const held = await lock.describe();
    expect({ run: held.runId, status: held.status.name }).toEqual({ run: lockRun, status: 'RUNNING' });

    await tw.run(() => first.executeUpdate(approveUpdate, { args: [{ by: 'bob@laptop' }] }));
    expect((await tw.run(() => first.result() as Promise<RotationResult>)).outcome).toBe('rotated');
  });
});

describe("rotor rotate's rotation id", () => {
  it('held by a workflow that is not rotor’s: the CLI terminates that run, says so and rotates', async () => {
    const store = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `squat-${hex}/`);
    const before = await store.snapshot();
    const playbook = testPlaybook(store.store);
    const squatter = await squat(rotationWorkflowId(playbook.spec.secret.name));
    const dir = mkdtempSync(join(tmpdir(), 'rotor-squat-cli-'));
    try {
      const file = join(dir, 'p.yaml');
      writeFileSync(file, stringify(playbook));
      const run = await runRotor({ ...process.env, ...env, ROTOR_TASK_QUEUE: tw.taskQueue }, 'rotate', file, '--wait');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        `terminated a workflow that held ${squatter.workflowId} and is not rotor's rotation (its type is squat, not rotationWorkflow, it runs on task queue squatter-`,
      );
      const { state, expected } = await rotatedOnce(store, before, (await store.snapshot()).currentVersion);
      expect(state).toEqual(expected);
      const end = await endOf(squatter);
      expect(end.status).toBe('TERMINATED');
      expect(end.reason).toMatch(/^rotor rotate: terminated /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an incident's rotation id", () => {
  it('held by a workflow that is not rotor’s: the incident terminates that run and rotates the secret; a rotation of rotor’s is skipped', async () => {
    const [squatted, busy] = await Promise.all(
      [0, 1].map(() => vaultTestStore(randomBytes(16).toString('hex'), undefined, `squat-${hex}/`)),
    );
    const before = await squatted!.snapshot();
    const squattedPlaybook = testPlaybook(squatted!.store);
    const squatter = await squat(rotationWorkflowId(squattedPlaybook.spec.secret.name));
    // A rotation of rotor's already running holds the other secret's id: the incident leaves it be.
    const busyPlaybook = testPlaybook(busy!.store, { approval: { beforeRevoke: true } });
    const running = await startRotation(busyPlaybook);
    await tw.run(() => waitForPhase(running, 'approval'));
    const input: IncidentInput = {
      reason: 'squatter test',
      requestedBy: 'alice@laptop',
      compromised: false,
      selection: 'two playbooks',
      targets: [squattedPlaybook, busyPlaybook].map((playbook) => ({ playbook, playbookFile: 'p.yaml' })),
      concurrency: 2,
      perBackend: 2,
    };
    const incident = await tw.client.workflow.start('incidentWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId: incidentWorkflowId(`squat-${randomUUID().slice(0, 8)}`),
      args: [input],
    });
    const report = await tw.run(() => incident.result() as Promise<IncidentReport>);
    expect(report.rotated).toEqual([squattedPlaybook.spec.secret.name]);
    expect(report.skipped).toEqual([
      { secret: busyPlaybook.spec.secret.name, why: 'a rotation of this secret was already running; none was started' },
    ]);
    const current = (await squatted!.snapshot()).currentVersion;
    const { state, expected } = await rotatedOnce(squatted!, before, current);
    expect(state).toEqual(expected);
    const end = await endOf(squatter);
    expect(end.status).toBe('TERMINATED');
    expect(end.reason).toContain(
      `terminated a workflow that held the rotation id ${squatter.workflowId} and is not rotor's rotation (its type is squat, not rotationWorkflow, it runs on task queue squatter-`,
    );
    expect((await running.describe()).status.name).toBe('RUNNING');
    await tw.run(() => running.executeUpdate(approveUpdate, { args: [{ by: 'bob@laptop' }] }));
    expect((await tw.run(() => running.result() as Promise<RotationResult>)).outcome).toBe('rotated');
  });
});

describe("a RotationPlaybook's rotation id, under rotor's controller", () => {
  const cluster = 'cluster-a';
  const admin = kubeconfigFor(cluster);
  const alice = `alice-${hex}`;
  const scratch = mkdtempSync(join(tmpdir(), 'rotor-squatters-'));
  let namespace: string;
  let kc: KubeConfig;
  let kube: KubeController | undefined;

  beforeAll(async () => {
    await applyRotorResources(admin);
    namespace = await freshNamespace(admin, 'squat');
    kc = await kubeUser(cluster, alice);
    const objects = (resources: string[], verbs: string[]) => ({ apiGroups: [resourceGroup], resources, verbs });
    await grant(admin, namespace, alice, [
      objects(['rotationplaybooks', 'rotationrequests'], ['get', 'list', 'create']),
      objects(['rotationplaybooks'], ['rotate']),
    ]);
    kube = await startKubeController({
      env,
      admin,
      cluster,
      scratch,
      policy: namespaceTenantsPolicy({ team: { namespace, pathPrefix: `squat-ctl-${hex}` } }),
      controllerUser: `rotor-controller-squat-${hex}`,
      namespaces: [namespace],
    });
  }, 180_000);
  afterAll(async () => {
    await kube?.controller.stop();
    await kube?.tw.close();
    if (namespace)
      await admin
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: namespace })
        .catch(() => undefined);
    await kube?.identity.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('held by a workflow that is not rotor’s: the controller terminates that run, starts the rotation and says so', async () => {
    const store = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `squat-ctl-${hex}/`);
    const before = await store.snapshot();
    const secret = `squat-${hex}`;
    const workflowId = rotationWorkflowId(secret, namespace);
    const squatter = await squat(workflowId);
    await createRotorObject(kc, 'rotationplaybooks', namespace, 'db', {
      secret: { name: secret, store: store.store },
      credential: { kind: 'random', length: 32 },
    });
    await createRotorObject(kc, 'rotationrequests', namespace, 'now', { playbookRef: 'db', requestedBy: alice });

    const accepted = await waitForCondition(admin, 'rotationrequests', namespace, 'now', ['Accepted', 'Denied']);
    expect(accepted.condition.type).toBe('Accepted');
    expect(accepted.condition.message).toContain(
      `rotate allowed for ${alice}; terminated a workflow that held ${workflowId} and is not rotor's rotation (its type is squat, not rotationWorkflow, it runs on task queue squatter-`,
    );
    expect(accepted.obj.status?.runId).not.toBe(squatter.firstExecutionRunId);
    await waitForCondition(admin, 'rotationrequests', namespace, 'now', ['Succeeded', 'RolledBack'], 120_000).then(
      ({ condition }) => expect(condition.type).toBe('Succeeded'),
    );
    const current = (await store.snapshot()).currentVersion;
    const { state, expected } = await rotatedOnce(store, before, current);
    expect(state).toEqual(expected);
    expect((await endOf(squatter)).status).toBe('TERMINATED');
  }, 180_000);
});
