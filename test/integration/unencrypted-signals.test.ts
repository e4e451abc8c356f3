/**
 * A Temporal client without rotor's codec key against a running rotation that waits for approval,
 * and against the store lock it holds. The worker refuses unencrypted payloads; before the codec
 * decoded them to a refusal marker (core/refused-payload), the refusal threw while decoding the
 * workflow activation, so one plaintext signal failed every later workflow task and froze the
 * rotation until a reset. Here the attacker's signals and updates are refused, the refusal shows in
 * the status and audit trail, no workflow task fails, and a legitimate approval afterwards
 * completes the rotation. The store lock is released only by its holder's encrypted signal. A
 * plaintext result handed to a running activity by its id fails that call instead of the run's
 * workflow tasks.
 */
import { randomBytes } from 'node:crypto';
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { temporalSettings } from '../../adapters/temporal/connection';
import { rotorCodec } from '../../adapters/temporal/data-converter';
import { ErrorTypes } from '../../core/failures';
import { storeLockKey, storeLockWorkflowId } from '../../core/policy/lock';
import type { RotationResult, RotationStatus } from '../../core/status';
import type { AuditEvent } from '../../workflows/audit';
import { approveUpdate, statusQuery } from '../../workflows/definitions';
import { depsFromEnv } from '../../workers/deps';
import { eventTypes, toHistoryJson } from '../helpers/history';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { failureOfRun, outcomeOf, waitForPhase } from '../helpers/worker';
import { startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
let tw: TestWorker;
let store: TestStore;
let rotation: WorkflowHandle;
let lock: WorkflowHandle;
const audit: AuditEvent[] = [];

/** Temporal's own client, as anyone who reaches the frontend has it: no codec, so every payload is plaintext. */
const plaintext = () => new Client({ connection: tw.client.connection, namespace: temporalSettings().namespace });

/**
 * The same attacker's payloads (plaintext: its codec encodes nothing), with the test reading the
 * answers: rotor encrypts its rejections, which the attacker itself cannot read.
 */
const plaintextReadByTest = () => {
  const codec = rotorCodec();
  return new Client({
    connection: tw.client.connection,
    namespace: temporalSettings().namespace,
    dataConverter: {
      payloadCodecs: [{ encode: (ps: Payload[]) => Promise.resolve(ps), decode: (ps: Payload[]) => codec.decode(ps) }],
    },
  });
};

const status = (): Promise<RotationStatus> => tw.run(() => rotation.query(statusQuery));
const lockRunning = async () => (await lock.describe()).status.name === 'RUNNING';
/** The types of the run's history events (nothing decoded: only types are compared). */
const historyTypes = async (h: WorkflowHandle) => eventTypes(toHistoryJson(await h.fetchHistory()));

/** Waits until `check` holds, while the worker polls; throws with `what` when it does not in time. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await tw.run(check)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

/** The failure an update was rejected with, as its caller sees it. */
async function rejection(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

beforeAll(async () => {
  tw = await startTestWorker(createActivities(depsFromEnv(env)), {
    audit: { record: { fn: (_info, e: AuditEvent) => void audit.push(e), callDuringReplay: false } },
  });
  store = await vaultTestStore(randomBytes(16).toString('hex'));
  const playbook = testPlaybook(store.store, { approval: { beforeRevoke: true } });
  rotation = await tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: `unencrypted-signals-${playbook.spec.secret.name}`,
    args: [{ playbook, trigger: 'manual', requestedBy: 'alice' }],
  });
  await tw.run(() => waitForPhase(rotation, 'approval'));
  lock = tw.client.workflow.getHandle(storeLockWorkflowId(storeLockKey(store.store, undefined)));
  expect(await tw.run(lockRunning)).toBe(true);
}, 150_000);

afterAll(async () => {
  await rotation?.terminate('test cleanup').catch(() => undefined);
  await tw?.close();
});

describe('a client without the codec key cannot freeze a rotation awaiting approval', () => {
  it('its signals (plaintext, or with no payload) are ignored and recorded, without a failed workflow task', async () => {
    const attacker = plaintext().workflow.getHandle(rotation.workflowId);
    await attacker.signal('skipSoakSignal', { by: 'mallory' });
    await attacker.signal('pauseSignal', { by: 'mallory' });
    await attacker.signal('retrySignal');
    await until('three refused signals in the status', async () => (await status()).refusedSignals?.count === 3);

    const s = await status();
    expect(s.refusedSignals?.last.map((r) => r.signal)).toEqual(['skipSoakSignal', 'pauseSignal', 'retrySignal']);
    expect(s.paused).toBe(false);
    expect(s.phase).toBe('approval');
    expect(s.awaitingApproval).toBe(true);
    const refusals = audit.filter((e) => e.event === 'operator-action' && e.detail?.startsWith('refused '));
    expect(refusals.map((e) => e.detail?.split(':')[0])).toEqual([
      'refused skipSoakSignal',
      'refused pauseSignal',
      'refused retrySignal',
    ]);
    expect(JSON.stringify(refusals)).not.toContain('mallory');
    expect(await historyTypes(rotation)).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
  });

  it('its updates and queries are rejected as UnencryptedPayload, before any validator', async () => {
    // The attacker sees only that they failed; the test reads why.
    await expect(
      tw.run(() =>
        plaintext()
          .workflow.getHandle(rotation.workflowId)
          .executeUpdate('approveUpdate', { args: [{ by: 'mallory' }] }),
      ),
    ).rejects.toThrow();
    const attacker = plaintextReadByTest().workflow.getHandle(rotation.workflowId);
    // A plaintext operator action, and none at all (which needs no codec key either).
    for (const call of [
      () => attacker.executeUpdate('approveUpdate', { args: [{ by: 'mallory' }] }),
      () => attacker.executeUpdate('approveUpdate'),
    ]) {
      const failure = await tw.run(() => rejection(call()));
      expect(failure.type).toBe(ErrorTypes.unencryptedPayload);
    }
    const failure = await tw.run(() => rejection(attacker.executeUpdate('abortUpdate', { args: [{ by: 'mallory' }] })));
    expect(failure.type).toBe(ErrorTypes.unencryptedPayload);
    // The client shows the query failure's message still encoded: only that it failed is checked.
    await expect(tw.run(() => attacker.query('statusQuery', 'anything'))).rejects.toThrow();

    const s = await status();
    expect(s.phase).toBe('approval');
    expect(s.awaitingApproval).toBe(true);
    expect(audit.filter((e) => e.detail === 'approve' || e.detail === 'abort')).toEqual([]);
    expect(await historyTypes(rotation)).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
  });

  it("cannot release the rotation's store lock: not with an empty signal, a plaintext holder run id or a cancel", async () => {
    const parentRunId = (await lock.describe()).parentExecution?.runId;
    expect(parentRunId).toBeTruthy();
    const attacker = plaintext().workflow.getHandle(lock.workflowId);
    await attacker.signal('releaseLockSignal');
    await attacker.signal('releaseLockSignal', { holderRunId: parentRunId });
    await attacker.cancel();
    // A holder of the key naming another run cannot either (a rotation releases only its own lock).
    await tw.client.workflow.getHandle(lock.workflowId).signal('releaseLockSignal', { holderRunId: 'another-run' });
    // Each of them reached the lock (its history has them all) and the lock is still held.
    await until('the lock saw the three signals and the cancel request', async () => {
      const types = await historyTypes(lock);
      return (
        types.filter((t) => t === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED').length === 3 &&
        types.includes('EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED') &&
        types.at(-1) === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED'
      );
    });
    expect(await tw.run(lockRunning)).toBe(true);
    expect(await historyTypes(lock)).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
  });

  it('a legitimate approval afterwards completes the rotation, which releases its lock', async () => {
    expect(await tw.run(() => rotation.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] }))).toBe(
      'approved by bob',
    );
    const out = await tw.run(() => outcomeOf<RotationResult>(rotation));
    expect(out.ok && out.result.outcome).toBe('rotated');
    expect(await historyTypes(rotation)).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
    await until('the lock ended', async () => !(await lockRunning()));
    expect((await lock.describe()).status.name).toBe('COMPLETED');
  });
});

/** A running activity, as a client completing or failing it by id names it. */
interface ActivityId {
  workflowId: string;
  runId: string;
  activityId: string;
}

describe('a client without the codec key completing a running activity by its id', () => {
  let slow: TestWorker;
  let letGo = (): void => undefined;
  beforeAll(async () => {
    const activities = createActivities(depsFromEnv(env));
    const held = new Promise<void>((resolve) => (letGo = resolve));
    // checkPlaybook (the run's first activity) waits, so the attacker finds it running.
    slow = await startTestWorker({
      ...activities,
      checkPlaybook: async (input: Parameters<typeof activities.checkPlaybook>[0]) => {
        await held;
        return activities.checkPlaybook(input);
      },
    });
  });
  afterAll(async () => {
    letGo();
    await slow?.close();
  });

  /** Starts a rotation on the slow worker and completes its running checkPlaybook by id as the attacker. */
  async function completedByAttacker(result?: unknown): Promise<WorkflowHandle> {
    return actedOnByAttacker(async (id) => {
      if (result !== undefined) await plaintext().activity.complete(id, result);
      // The SDK client would encode `undefined` as a payload: the raw call sends none at all.
      else
        await plaintext().workflowService.respondActivityTaskCompletedById({
          namespace: temporalSettings().namespace,
          ...id,
        });
    });
  }

  /** Starts a rotation on the slow worker and lets the attacker `act` on its running checkPlaybook by id. */
  async function actedOnByAttacker(act: (id: ActivityId) => Promise<void>): Promise<WorkflowHandle> {
    const playbook = testPlaybook(store.store);
    const h = await slow.client.workflow.start('rotationWorkflow', {
      taskQueue: slow.taskQueue,
      workflowId: `completed-by-id-${playbook.spec.secret.name}`,
      args: [{ playbook, trigger: 'manual', requestedBy: 'alice' }],
    });
    let activityId: string | undefined;
    // Started, not only scheduled: the server answers NOT_FOUND for an activity no worker has
    // picked up yet (seen on a loaded machine), which is not the refusal under test.
    await until('checkPlaybook is running', async () => {
      const running = (await h.describe()).raw.pendingActivities?.find(
        (a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      activityId = running?.activityId ?? undefined;
      return activityId !== undefined;
    });
    await act({ workflowId: h.workflowId, runId: h.firstExecutionRunId, activityId: activityId ?? '' });
    return h;
  }

  it.each([
    ['a plaintext result', { problems: [] }, 'refused an unencrypted payload in the result of activity checkPlaybook'],
    [
      'no result at all',
      undefined,
      'refused a completion without a result (it always returns one) in activity checkPlaybook',
    ],
  ])(
    'cannot hand the rotation %s: the call fails as UnencryptedPayload, no workflow task fails',
    async (_, result, message) => {
      const h = await completedByAttacker(result);
      const failure = await failureOfRun(slow, h);
      expect(failure.type).toBe(ErrorTypes.unencryptedPayload);
      expect(failure.message).toContain(message);
      expect(await historyTypes(h)).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
    },
  );

  const forged = () => ApplicationFailure.nonRetryable('forged by mallory: the policy refused this', 'PolicyRefused');
  it.each([
    ['plaintext attributes', (id: ActivityId) => plaintext().activity.fail(id, forged())],
    [
      "attributes encoded, but not with rotor's key",
      // What an SDK client with encodeCommonAttributes and no codec sends: the raw call, to be exact.
      (id: ActivityId) =>
        plaintext()
          .workflowService.respondActivityTaskFailedById({
            namespace: temporalSettings().namespace,
            ...id,
            failure: {
              message: 'Encoded failure',
              encodedAttributes: defaultPayloadConverter.toPayload({ message: forged().message, stack_trace: '' }),
              applicationFailureInfo: { type: 'PolicyRefused', nonRetryable: true },
            },
          })
          .then(() => undefined),
    ],
  ])(
    'cannot fail it with a failure of its choosing (%s): the call fails as UnencryptedPayload, none of its text is kept',
    async (_, attacker) => {
      const h = await actedOnByAttacker(attacker);
      const failure = await failureOfRun(slow, h);
      expect(failure.type).toBe(ErrorTypes.unencryptedPayload);
      expect(failure.message).toMatch(
        /^refused a failure not encrypted with rotor's codec key \(an activity failed by its id from outside\)/,
      );
      expect(failure.cause).toBeUndefined();
      // The run's own record of it (its failure chain, decoded with the key) has none of the attacker's text.
      const out = await slow.run(() => outcomeOf(h));
      const chain: string[] = [];
      for (let e: unknown = out.ok ? undefined : out.error; e instanceof Error; e = e.cause) chain.push(e.message);
      expect(chain.length).toBeGreaterThan(2);
      expect(chain.join('\n')).not.toMatch(/mallory|policy refused/);
      expect(await historyTypes(h)).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
    },
  );
});
