/**
 * Issue 24, item 2, from the positions a Temporal user really has: a client without the codec key,
 * a client with it starting each of rotor's workflow types with crafted input, and the attacker's
 * own worker on a task queue of its own (test/fixtures/attacker/workflows.ts) whose workflows
 * start rotor's workflows as children, call rotor's activities, or continue as new into a rotation
 * on rotor's task queue, one of them with a genuine admission grant copied from a running
 * rotation's history. The real worker runs the real activities under the two-team policy; the
 * victims are the orders team's Vault entry, the payments team's own entry while its rotation
 * waits for approval, a Secret the attacker wants filled in its own namespace, and the orders
 * location's store lock. Each is read before and after every attack, and a last test shows each
 * comparison catches a deliberate change.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { rotorCodec, rotorDataConverter } from '../../adapters/temporal/data-converter';
import { temporalSettings } from '../../adapters/temporal/connection';
import type { AdmissionGrant } from '../../core/contracts';
import { ErrorTypes, WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { IncidentInput } from '../../core/incident/types';
import { storeLockKey, storeLockWorkflowId } from '../../core/policy/lock';
import type { Playbook, Store } from '../../core/playbook/schema';
import { initialStatus } from '../../core/status';
import type { RotationInput } from '../../core/status';
import { abortUpdate } from '../../workflows/definitions';
import { depsFromEnv } from '../../workers/deps';
import type { Answer } from '../fixtures/attacker/workflows';
import { dataText, decodePayload, eventTypes, findPayloads, mapPayloads, toHistoryJson } from '../helpers/history';
import type { HistoryJson } from '../helpers/history';
import { ensureSharedNamespace, kubeconfigFor } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { changesBetween, kubeSecretProbe, reportedChanges, snapshotVictims, vaultKvProbe } from '../helpers/victims';
import type { Probe } from '../helpers/victims';
import { credentialDepsFromEnv } from '../../adapters/credentials/index';
import { failureOfRun, outcomeOf, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const vault = credentialDepsFromEnv().vault;
const secretValue = () => randomBytes(16).toString('hex');
const suffix = randomBytes(4).toString('hex');
/** Where the attacker (payments) wants another team's secret delivered: its own namespace. */
const exfil = { context: 'cluster-a', namespace: 'payments', name: `loot-${suffix}` };

let tw: TestWorker;
let orders: TestStore;
let payments: TestStore;
let ordersLock: string;
/** The payments team's own rotation, admitted and waiting for approval: its grant leaks via history. */
let honest: WorkflowHandle;
let honestPlaybook: Playbook;
let attacker: { worker: Worker; client: Client; taskQueue: string; running: Promise<void> };
let plaintextAttacker: { worker: Worker; taskQueue: string; running: Promise<void> };
let victims: Record<string, Probe>;
const teardown: (() => Promise<unknown>)[] = [];

const victim = {
  ordersEntry: "orders' Vault entry",
  paymentsEntry: "payments' own Vault entry (its rotation awaits approval)",
  loot: `the Secret ${exfil.name} in ${exfil.context} ${exfil.namespace}`,
  ordersLock: "the lock on orders' store location",
};

const vaultPath = (s: Store) => (s.type === 'vault' ? s.path : '');

/** Whether a store lock is held: an open workflow with the lock's id. */
function lockProbe(workflowId: string): Probe {
  return async () => {
    const d = await tw.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    return { held: d?.status.name === 'RUNNING' };
  };
}

async function startAttackerWorker(bundle: WorkflowBundleWithSourceMap, withCodec: boolean) {
  const settings = temporalSettings();
  const connection = await NativeConnection.connect({ address: settings.address });
  const taskQueue = `attacker-${randomUUID()}`;
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue,
    workflowBundle: bundle,
    ...(withCodec ? { dataConverter: rotorDataConverter() } : {}),
  });
  const running = worker.run().finally(() => connection.close());
  return { worker, taskQueue, running };
}

/** A genuine grant: the admission of the honest rotation, decoded from its history with the codec key. */
async function leakedGrant(): Promise<AdmissionGrant> {
  const history: HistoryJson = await mapPayloads(toHistoryJson(await honest.fetchHistory()), (p) =>
    decodePayload(rotorCodec(), p),
  );
  for (const e of history.events) {
    const a = e['activityTaskScheduledEventAttributes'] as
      { activityType?: { name?: string }; input?: { payloads?: unknown[] } } | undefined;
    if (a?.activityType?.name !== 'createPendingVersion') continue;
    const [input] = findPayloads(a.input);
    if (input) return (JSON.parse(dataText(input.payload)) as { admission: AdmissionGrant }).admission;
  }
  throw new Error('no createPendingVersion in the honest rotation');
}

beforeAll(async () => {
  tw = await startTestWorker(createActivities(depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' })));
  orders = await vaultTestStore(secretValue(), undefined, 'apps/orders/');
  payments = await vaultTestStore(secretValue(), undefined, 'apps/payments/');
  ordersLock = storeLockWorkflowId(storeLockKey(orders.store, undefined));
  const core = kubeconfigFor(exfil.context).makeApiClient(CoreV1Api);
  await ensureSharedNamespace(kubeconfigFor(exfil.context), exfil.namespace);
  teardown.push(() => core.deleteNamespacedSecret({ namespace: exfil.namespace, name: exfil.name }));
  victims = {
    [victim.ordersEntry]: vaultKvProbe(vault, 'secret', vaultPath(orders.store)),
    [victim.paymentsEntry]: vaultKvProbe(vault, 'secret', vaultPath(payments.store)),
    [victim.loot]: kubeSecretProbe(kubeconfigFor(exfil.context), exfil.namespace, exfil.name),
    [victim.ordersLock]: lockProbe(ordersLock),
  };

  honestPlaybook = testPlaybook(payments.store, { approval: { beforeRevoke: true } });
  honest = await tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(honestPlaybook.spec.secret.name),
    args: [
      { playbook: honestPlaybook, playbookFile: 'playbooks/payments/db.yaml', trigger: 'manual', requestedBy: 'alice' },
    ],
  });
  await tw.run(() => waitForPhase(honest, 'approval'));

  const bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../fixtures/attacker/workflows.ts', import.meta.url)),
  });
  const withKey = await startAttackerWorker(bundle, true);
  attacker = {
    ...withKey,
    client: new Client({ connection: tw.client.connection, dataConverter: rotorDataConverter() }),
  };
  plaintextAttacker = await startAttackerWorker(bundle, false);
}, 240_000);

afterAll(async () => {
  for (const w of [attacker, plaintextAttacker]) {
    if (w?.worker.getState() === 'RUNNING') w.worker.shutdown();
    await w?.running.catch(() => undefined);
  }
  await honest
    ?.executeUpdate(abortUpdate, { args: [{ by: 'temporal-abuse.test' }] })
    .then(() => outcomeOf(honest))
    .catch(() => undefined);
  await tw?.close();
  for (const undo of teardown.reverse()) await undo().catch(() => undefined);
});

/** Runs `attack` between two readings of every victim; the readings must agree. */
async function unchanged<T>(attack: () => Promise<T>): Promise<T> {
  const before = await snapshotVictims(victims);
  const result = await attack();
  expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
  return result;
}

const failureOf = (h: WorkflowHandle) => failureOfRun(tw, h);

/** An attacker's workflow on its own task queue; returns what rotor answered. */
async function asAttacker(workflow: string, args: unknown[]): Promise<Answer> {
  return tw.run(() =>
    attacker.client.workflow.execute<(...a: unknown[]) => Promise<Answer>>(workflow, {
      taskQueue: attacker.taskQueue,
      workflowId: `attack-${randomUUID()}`,
      args,
    }),
  );
}

/** A cluster target in the attacker's namespace, and orders' entry as the versions to write there. */
const lootBatch = (admission?: AdmissionGrant) => ({
  ...(admission ? { admission } : {}),
  step: 'restore',
  rotation: { workflowId: 'forged', runId: 'forged' },
  clusters: [
    { name: exfil.context, delivery: 'push', namespace: exfil.namespace, secretName: exfil.name, workloads: [] },
  ],
  parallelism: 1,
  rolloutTokens: {},
  persistent: false,
  versions: {
    store: orders.store,
    current: { version: '1', fingerprint: 'hmac:x' },
    other: null,
    currentKey: 'value',
    otherKey: 'value-other',
  },
});

const ordersPlaybook = () => testPlaybook(orders.store);

/** An incident of mallory's (payments) over orders' secret, as a client with the codec key may send it. */
const ordersIncident = (): IncidentInput => ({
  reason: 'mallory says so',
  requestedBy: 'mallory',
  compromised: true,
  selection: 'crafted',
  targets: [{ playbook: ordersPlaybook(), playbookFile: 'playbooks/payments/x.yaml' }],
  concurrency: 1,
  perBackend: 1,
});

/** A forged continuation past the point of no return of orders' secret: straight to revoke. */
function forgedResume(playbook: Playbook): RotationInput {
  const workflowId = rotationWorkflowId(playbook.spec.secret.name);
  return {
    playbook,
    trigger: 'manual',
    requestedBy: 'mallory',
    resume: {
      stage: 'revoke',
      rotation: { workflowId, runId: 'forged' },
      versions: { old: { version: '1', fingerprint: 'hmac:one' }, fresh: { version: '2', fingerprint: 'hmac:two' } },
      status: initialStatus({
        secret: playbook.spec.secret.name,
        playbook: playbook.metadata.name,
        trigger: 'manual',
        requestedBy: 'mallory',
        startedAt: Date.now(),
      }),
      escalated: false,
    },
  };
}

describe('a Temporal client without the codec key', () => {
  const plaintext = () => new Client({ connection: tw.client.connection, namespace: temporalSettings().namespace });

  /** Waits until the run's history has an event of `type`; returns the history decoded with the codec key. */
  async function until(h: WorkflowHandle, type: string): Promise<HistoryJson> {
    for (let i = 0; i < 150; i++) {
      const history = toHistoryJson(await h.fetchHistory());
      if (eventTypes(history).includes(type)) return mapPayloads(history, (p) => decodePayload(rotorCodec(), p));
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${h.workflowId}: no ${type}`);
  }
  const textOf = (history: HistoryJson) =>
    findPayloads(history)
      .map((p) => dataText(p.payload))
      .join('\n');

  const starts: { type: string; args: () => unknown[] }[] = [
    {
      type: 'rotationWorkflow',
      args: () => [{ playbook: ordersPlaybook(), trigger: 'manual', requestedBy: 'carol' }],
    },
    {
      type: 'scheduledRotationWorkflow',
      args: () => [{ playbook: ordersPlaybook(), trigger: 'schedule', requestedBy: 'carol' }],
    },
    { type: 'incidentWorkflow', args: () => [ordersIncident()] },
    { type: 'clusterBatchWorkflow', args: () => [lootBatch()] },
    { type: 'storeLockWorkflow', args: () => [{ key: storeLockKey(orders.store, undefined), holder: 'mallory' }] },
  ];

  it.each(starts)('cannot start $type: the worker refuses the unencrypted input before any step', async (s) => {
    await unchanged(async () => {
      const h = await plaintext().workflow.start(s.type, {
        taskQueue: tw.taskQueue,
        workflowId: `plaintext-${randomUUID()}`,
        args: s.args(),
      });
      try {
        // The run fails at once (it does not hold its id in a loop of failing workflow tasks).
        const history = await tw.run(() => until(h, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED'));
        const types = eventTypes(history);
        expect(types.filter((t) => /ACTIVITY_TASK_SCHEDULED|START_CHILD|TIMER_STARTED/.test(t))).toEqual([]);
        expect(types).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
        expect(JSON.stringify(history)).toContain(`"${ErrorTypes.unencryptedPayload}"`);
        expect(textOf(history)).toContain('refused an unencrypted payload');
      } finally {
        await h.terminate('test: refused plaintext start').catch(() => undefined);
      }
    });
  });

  it("cannot call rotor's activities from its own worker: the unencrypted input is refused", async () => {
    await unchanged(async () => {
      const h = await plaintext().workflow.start('activityOnRotorQueue', {
        taskQueue: plaintextAttacker.taskQueue,
        workflowId: `attack-${randomUUID()}`,
        args: [{ taskQueue: tw.taskQueue, activity: 'syncClusterBatch', args: [lootBatch()] }],
      });
      try {
        // rotor's answer is encrypted: the attacker cannot even read the refusal; the test can.
        const history = await tw.run(() => until(h, 'EVENT_TYPE_ACTIVITY_TASK_FAILED'));
        expect(eventTypes(history).filter((t) => t === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED')).toEqual([]);
        expect(textOf(history)).toContain('refused an unencrypted payload');
      } finally {
        await h.terminate('test: refused plaintext activity').catch(() => undefined);
      }
    });
  });
});

describe('a Temporal client with the codec key starting rotor workflows directly', () => {
  it('clusterBatchWorkflow: refused as ClusterStepWithoutRotation, nothing delivered', async () => {
    const failure = await unchanged(async () =>
      failureOf(
        await tw.client.workflow.start('clusterBatchWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: `direct-batch-${randomUUID()}`,
          args: [lootBatch()],
        }),
      ),
    );
    expect(failure.type).toBe(ErrorTypes.clusterStepWithoutRotation);
  });

  it("storeLockWorkflow on another team's location: refused, the lock is not held", async () => {
    const failure = await unchanged(async () =>
      failureOf(
        await tw.client.workflow.start('storeLockWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: ordersLock,
          args: [{ key: storeLockKey(orders.store, undefined), holder: 'mallory' }],
        }),
      ),
    );
    expect(failure.type).toBe(WorkflowErrorTypes.storeLockWithoutRotation);
    expect(failure.message).toContain('it has no parent');
  });

  it('rotationWorkflow with a forged resume: refused as ResumeWithoutRotation', async () => {
    const input = forgedResume(ordersPlaybook());
    const failure = await unchanged(async () =>
      failureOf(
        await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(input.playbook.spec.secret.name),
          args: [input],
        }),
      ),
    );
    expect(failure.type).toBe(WorkflowErrorTypes.resumeWithoutRotation);
  });

  it("scheduledRotationWorkflow with another team's playbook: its rotation is refused by the policy", async () => {
    const playbook = ordersPlaybook();
    const out = await unchanged(async () =>
      tw.run(async () =>
        outcomeOf(
          await tw.client.workflow.start('scheduledRotationWorkflow', {
            taskQueue: tw.taskQueue,
            workflowId: `direct-scheduled-${randomUUID()}`,
            args: [
              { playbook, playbookFile: 'playbooks/payments/x.yaml', trigger: 'schedule', requestedBy: 'mallory' },
            ],
          }),
        ),
      ),
    );
    expect(out.ok).toBe(false);
    const failure = await failureOf(tw.client.workflow.getHandle(rotationWorkflowId(playbook.spec.secret.name)));
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
  });
});

describe('a Temporal client with the codec key starting an incident directly', () => {
  it("incidentWorkflow with another team's playbook: its rotation is refused by the policy, the incident says so", async () => {
    const input = ordersIncident();
    const secret = input.targets[0]?.playbook.spec.secret.name ?? '';
    const out = await unchanged(async () =>
      tw.run(async () =>
        outcomeOf(
          await tw.client.workflow.start('incidentWorkflow', {
            taskQueue: tw.taskQueue,
            workflowId: `direct-incident-${randomUUID()}`,
            args: [input],
          }),
        ),
      ),
    );
    expect(out).toMatchObject({
      ok: true,
      result: { outcome: 'needs-attention', rotated: [], needsAttention: [{ secret }] },
    });
    const failure = await failureOf(tw.client.workflow.getHandle(rotationWorkflowId(secret)));
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
  });
});

describe("the attacker's own workflows reaching rotor's task queue", () => {
  it('a clusterBatchWorkflow child of a foreign workflow is refused: its parent is no rotation of this worker', async () => {
    const answer = await unchanged(() =>
      asAttacker('childOnRotorQueue', [
        {
          taskQueue: tw.taskQueue,
          workflowType: 'clusterBatchWorkflow',
          workflowId: `foreign-batch-${randomUUID()}`,
          args: [lootBatch()],
        },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: ErrorTypes.clusterStepWithoutRotation });
  });

  it("a storeLockWorkflow child of a foreign workflow cannot hold another team's location", async () => {
    const answer = await unchanged(() =>
      asAttacker('childOnRotorQueue', [
        {
          taskQueue: tw.taskQueue,
          workflowType: 'storeLockWorkflow',
          workflowId: ordersLock,
          args: [{ key: storeLockKey(orders.store, undefined), holder: 'mallory' }],
        },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: WorkflowErrorTypes.storeLockWithoutRotation });
    expect(answer.ok ? '' : answer.message).toContain('not rotationWorkflow');
  });

  it('a foreign workflow continuing as new into a rotation with a forged resume is refused (NotAdmitted)', async () => {
    const input = forgedResume(ordersPlaybook());
    const workflowId = rotationWorkflowId(input.playbook.spec.secret.name);
    const failure = await unchanged(async () => {
      const h = await attacker.client.workflow.start('continueIntoRotation', {
        taskQueue: attacker.taskQueue,
        workflowId,
        args: [{ taskQueue: tw.taskQueue, rotationInput: input }],
      });
      return failureOf(h);
    });
    expect(failure.type).toBe(ErrorTypes.notAdmitted);
    expect(failure.message).toContain('a resumed rotation must continue a rotation of this worker');
  });

  it('admission is refused to a foreign workflow (it would skip the store lock)', async () => {
    const answer = await unchanged(() =>
      asAttacker('activityOnRotorQueue', [
        {
          taskQueue: tw.taskQueue,
          activity: 'admitRotation',
          args: [
            { playbook: testPlaybook(payments.store), playbookFile: 'playbooks/payments/x.yaml', requestedBy: 'm' },
          ],
        },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: ErrorTypes.notAdmitted });
  });

  it("cannot make rotor terminate a workflow: the incident's squatter eviction is refused to anyone but an incident", async () => {
    // A workflow that is not rotor's under a rotation id: what an incident would evict.
    const held = await attacker.client.workflow.start('squat', {
      taskQueue: `squat-${randomUUID()}`,
      workflowId: `rotate/squat-${randomUUID().slice(0, 8)}`,
    });
    const answer = await unchanged(() =>
      asAttacker('activityOnRotorQueue', [
        { taskQueue: tw.taskQueue, activity: 'evictRotationSquatter', args: [held.workflowId] },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: ErrorTypes.notAdmitted });
    expect(answer.ok ? '' : answer.message).toContain('only an incident of this worker may ask');
    expect((await held.describe()).status.name).toBe('RUNNING');
    await held.terminate('test: done');
  });

  it('a side-effecting activity without a grant is refused before it runs', async () => {
    const answer = await unchanged(() =>
      asAttacker('activityOnRotorQueue', [
        { taskQueue: tw.taskQueue, activity: 'syncClusterBatch', args: [lootBatch()] },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: ErrorTypes.notAdmitted });
    expect(answer.ok ? '' : answer.message).toContain('its input carries no admission grant');
  });

  it("a genuine grant copied from a running rotation's history does not cover another store", async () => {
    const grant = await leakedGrant();
    const answer = await unchanged(() =>
      asAttacker('activityOnRotorQueue', [
        { taskQueue: tw.taskQueue, activity: 'syncClusterBatch', args: [lootBatch(grant)] },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: ErrorTypes.notAdmitted });
    expect(answer.ok ? '' : answer.message).toContain('its store location was not admitted');
  });

  it('a genuine grant used from another workflow, on the very store it covers, is refused: it is bound to its run', async () => {
    const grant = await leakedGrant();
    const snapshot = await payments.snapshot();
    // Make the version the honest rotation created current now, skipping soak, approval and gates.
    const answer = await unchanged(() =>
      asAttacker('activityOnRotorQueue', [
        {
          taskQueue: tw.taskQueue,
          activity: 'promoteVersion',
          args: [
            {
              admission: grant,
              store: honestPlaybook.spec.secret.store,
              rotation: grant.run,
              pendingVersion: snapshot.pendingVersion ?? '2',
              currentVersion: snapshot.currentVersion,
            },
          ],
        },
      ]),
    );
    expect(answer).toMatchObject({ ok: false, type: ErrorTypes.notAdmitted });
    expect(answer.ok ? '' : answer.message).toContain(`neither the admitted run ${grant.run.workflowId}`);
  });
});

describe('the "nothing changed" comparison', () => {
  it('reports a deliberate change to each victim, and only that victim', async () => {
    const core = kubeconfigFor(exfil.context).makeApiClient(CoreV1Api);
    const changes: Record<string, () => Promise<unknown>> = {
      [victim.ordersEntry]: () =>
        vault.write(`secret/data/${vaultPath(orders.store)}`, { data: { value: secretValue() } }),
      [victim.paymentsEntry]: () =>
        vault.write(`secret/metadata/${vaultPath(payments.store)}`, { custom_metadata: { touched: 'by test' } }),
      [victim.loot]: () =>
        core.createNamespacedSecret({
          namespace: exfil.namespace,
          body: { metadata: { name: exfil.name }, stringData: { value: secretValue() } },
        }),
      // Held by a workflow nobody runs (its task queue has no worker): the lock's id is taken.
      [victim.ordersLock]: async () => {
        const h = await tw.client.workflow.start('storeLockWorkflow', {
          taskQueue: `nobody-${randomUUID()}`,
          workflowId: ordersLock,
          args: [{ key: 'probe', holder: 'test' }],
        });
        teardown.push(() => h.terminate('test'));
      },
    };
    expect(Object.keys(changes).sort()).toEqual(Object.keys(victims).sort());
    expect(await reportedChanges(victims, changes)).toEqual(
      Object.keys(changes).map((name) => ({ changed: name, reported: [name] })),
    );
  });
});
