import { until } from '../helpers/until';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import type { RotationActivities } from '../../activities/index';
import { depsFromEnv } from '../../workers/deps';
import { abortUpdate, retrySignal, statusQuery } from '../../workflows/definitions';
import { failingAfter as failingAfterStep } from '../helpers/failing-after';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationInput, RotationResult } from '../../core/status';

useStackEnv();

const real = createActivities(depsFromEnv());

/** Real activities, except that `after` fails for good right after the real step succeeded. */
const failingAfter = (after: keyof RotationActivities) => failingAfterStep(real, after);

const stores: [string, (v: string) => Promise<TestStore>][] = [
  ['aws', awsTestStore],
  ['vault', vaultTestStore],
];

describe('playbook validation in the worker', () => {
  it('refuses an invalid playbook with the same path-named messages as rotor validate, changing nothing', async () => {
    const ts = await awsTestStore('invalid-playbook-value');
    const before = await ts.snapshot();
    const tw = await startTestWorker(real);
    try {
      const playbook = testPlaybook(ts.store);
      const broken = {
        ...playbook,
        spec: { ...playbook.spec, soak: 'soon', clusters: [{ name: 'cluster-a' }] },
      } as unknown as typeof playbook;
      const out = await tw.run(async () =>
        outcomeOf(
          await tw.client.workflow.start('rotationWorkflow', {
            taskQueue: tw.taskQueue,
            workflowId: rotationWorkflowId(playbook.spec.secret.name),
            args: [{ playbook: broken, playbookFile: 'pb.yaml', trigger: 'manual', requestedBy: 'test' }],
          }),
        ),
      );
      expect(out.ok).toBe(false);
      if (out.ok) return;
      const failure = out.error.cause as ApplicationFailure;
      expect(failure.type).toBe(WorkflowErrorTypes.invalidPlaybook);
      expect(failure.message).toContain('pb.yaml: spec.clusters[0].delivery: Required');
      expect(failure.message).toContain("pb.yaml: spec.soak: 'soon' is not a duration");
      expect(failure.nonRetryable).toBe(true);
    } finally {
      await tw.close();
    }
    expect(await ts.snapshot()).toEqual(before);
    expect(await ts.versionCount()).toBe(1);
  });
});

describe('a secret that does not exist', () => {
  it('fails at plan as a clean rollback that changed nothing, naming the secret and what to do', async () => {
    const tw = await startTestWorker(real);
    try {
      const playbook = testPlaybook({ type: 'aws', secretId: `rotor-test/missing-${Date.now()}` });
      const out = await tw.run(async () => outcomeOf(await startRotation(tw, playbook)));
      expect(out.ok).toBe(false);
      if (out.ok) return;
      const failure = out.error.cause as ApplicationFailure;
      expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
      expect(failure.message).toMatch(
        /plan failed: aws secret rotor-test\/missing-\d+: not found .*create it first.*; nothing was changed$/,
      );
      expect((failure.cause?.cause as ApplicationFailure).type).toBe('SecretNotFound');
    } finally {
      await tw.close();
    }
  });
});

describe('past the point of no return', () => {
  it('a failing revoke alerts (needs-attention), refuses abort, and finishes forward when told to retry', async () => {
    const ts = await awsTestStore('revoke-fails-value');
    const before = await ts.snapshot();
    let revokeCalls = 0;
    const flaky: RotationActivities = {
      ...real,
      revokeVersion: async (input) => {
        revokeCalls++;
        // First: a permanent error; second: a revoke that did not take; then the real one.
        if (revokeCalls === 1)
          throw ApplicationFailure.create({
            type: 'PermissionDenied',
            message: 'denied to revoke (injected)',
            nonRetryable: true,
          });
        if (revokeCalls === 2) return { rejected: false, detail: 'old credential still accepted (injected)' };
        return real.revokeVersion(input);
      },
    };
    const tw = await startTestWorker(flaky);
    try {
      const playbook = testPlaybook(ts.store);
      const result = await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        await waitForPhase(h, 'needs-attention');
        const first = await h.query(statusQuery);
        expect(first.attention).toContain('denied to revoke (injected)');
        expect(first.pointOfNoReturn).toBe(true);
        await expect(h.executeUpdate(abortUpdate, { args: [{ by: 'test' }] })).rejects.toMatchObject({
          cause: { message: expect.stringMatching(/point of no return/) as unknown },
        });
        await h.signal(retrySignal, { by: 'oncall' });
        await until(
          'the retried revoke never ran',
          () => Promise.resolve(revokeCalls >= 2 ? true : undefined),
          150_000,
        );
        await waitForPhase(h, 'needs-attention');
        expect((await h.query(statusQuery)).attention).toContain(
          'old credential is still accepted: old credential still accepted (injected)',
        );
        await h.signal(retrySignal, { by: 'oncall' });
        return outcomeOf(h);
      });
      expect(result.ok).toBe(true);
      expect(revokeCalls).toBe(3);
      const after = await ts.snapshot();
      expect(after.currentVersion).not.toBe(before.currentVersion);
      expect(after.previousVersion).toBe(before.currentVersion);
    } finally {
      await tw.close();
    }
  });
});

describe('an undo that cannot succeed', () => {
  it('is reported loudly: the run fails as compensation-failed naming the failed undo and the original cause', async () => {
    const ts = await awsTestStore('undo-fails-value');
    const broken: RotationActivities = {
      ...real,
      discardPendingVersion: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: 'PermissionDenied',
            message: 'denied to remove AWSPENDING (injected)',
            nonRetryable: true,
          }),
        ),
    };
    const tw = await startTestWorker(broken);
    try {
      const playbook = testPlaybook(ts.store, { canaries: [{ type: 'command', name: 'rejects', command: ['false'] }] });
      const out = await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        const o = await outcomeOf(h);
        return { o, status: await h.query(statusQuery) };
      });
      expect(out.o.ok).toBe(false);
      if (out.o.ok) return;
      const failure = out.o.error.cause as ApplicationFailure;
      expect(failure.type).toBe(WorkflowErrorTypes.compensationFailed);
      expect(failure.message).toContain(
        "undo 'discard pending version' failed: denied to remove AWSPENDING (injected)",
      );
      expect(failure.message).toContain("original cause: canary failed: canary 'rejects' failed");
      expect(out.status.phase).toBe('compensation-failed');
      expect(out.status.compensation).toContainEqual({
        step: 'discard pending version',
        ok: false,
        error: 'denied to remove AWSPENDING (injected)',
      });
    } finally {
      await tw.close();
    }
  });
});

describe.each(stores)('rotation saga on %s', (_kind, makeStore) => {
  let tw: TestWorker;
  beforeAll(async () => {
    tw = await startTestWorker(real);
  });
  afterAll(async () => tw.close());

  async function start(input: Omit<RotationInput, 'trigger' | 'requestedBy'>, worker = tw) {
    return worker.client.workflow.start('rotationWorkflow', {
      taskQueue: worker.taskQueue,
      workflowId: `${rotationWorkflowId(input.playbook.spec.secret.name)}`,
      args: [{ trigger: 'manual', requestedBy: 'test', ...input }],
    });
  }

  it('rotates: new value current, old one previous, exactly one new version', async () => {
    const ts = await makeStore('initial-value-0123456789');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, {
      canaries: [{ type: 'command', name: 'nonempty', command: ['sh', '-c', 'test -n "$(cat)"'] }],
    });
    const result = await tw.run(
      async (): Promise<RotationResult> => (await (await start({ playbook })).result()) as RotationResult,
    );
    const after = await ts.snapshot();
    expect(result.outcome).toBe('rotated');
    expect(after.currentVersion).toBe(result.current.version);
    expect(after.currentVersion).not.toBe(before.currentVersion);
    expect(after.currentValue).not.toBe(before.currentValue);
    expect(after.currentValue).toHaveLength(32);
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.pendingVersion).toBeNull();
    expect(await ts.versionCount()).toBe(2);
    expect(result.previous.fingerprint).not.toBe(result.current.fingerprint);
    expect(result.status.canaries.map((c) => c.name)).toEqual(['nonempty']);
  });

  it('refuses a second rotation of a secret that is already rotating, naming the running one', async () => {
    const ts = await makeStore('initial-value-abcdefghij');
    const playbook = testPlaybook(ts.store, { approval: { beforeRevoke: true } });
    await tw.run(async () => {
      const first = await start({ playbook });
      await expect(start({ playbook })).rejects.toThrow(/already started/i);
      await waitForPhase(first, 'approval');
      await first.executeUpdate(abortUpdate, { args: [{ by: 'test' }] });
      const out = await outcomeOf(first);
      expect(out.ok).toBe(false);
    });
  });

  const injectionPoints: (keyof RotationActivities)[] = [
    'planRotation',
    'createPendingVersion',
    'runCanary',
    'promoteVersion',
  ];
  it.each(injectionPoints)('a failure right after %s leaves the store exactly as before', async (point) => {
    const ts = await makeStore(`initial-${point}-value`);
    const before = await ts.snapshot();
    const faulty = await startTestWorker(failingAfter(point));
    try {
      const playbook = testPlaybook(ts.store, { canaries: [{ type: 'command', name: 'ok', command: ['true'] }] });
      const out = await faulty.run(async () => outcomeOf(await start({ playbook }, faulty)));
      expect(out.ok).toBe(false);
      if (out.ok) return;
      // Full chain: workflow failed → rolled back → activity failure → injected application failure.
      expect(out.error).toBeInstanceOf(WorkflowFailedError);
      const rolledBack = out.error.cause as ApplicationFailure;
      expect(rolledBack.type).toBe(WorkflowErrorTypes.rolledBack);
      expect(rolledBack.message).toContain(`injected failure after ${point}`);
      expect(rolledBack.cause).toBeInstanceOf(ActivityFailure);
      expect((rolledBack.cause?.cause as ApplicationFailure).type).toBe('InjectedFailure');
    } finally {
      await faulty.close();
    }
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.currentValue).toBe(before.currentValue);
    expect(after.previousVersion).toBe(before.previousVersion);
    expect(after.pendingVersion).toBeNull();
  });

  it('a failing canary rolls back; the old value stays current and the failure names the canary', async () => {
    const ts = await makeStore('initial-canary-value');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, {
      canaries: [
        {
          type: 'command',
          name: 'rejects',
          command: ['sh', '-c', 'cat >/dev/null; echo upstream said no >&2; exit 3'],
        },
      ],
    });
    const out = await tw.run(async () => outcomeOf(await start({ playbook })));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    const rolledBack = out.error.cause as ApplicationFailure;
    expect(rolledBack.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(rolledBack.message).toMatch(/canary failed: canary 'rejects' failed: sh exit 3: upstream said no/);
    expect((rolledBack.cause?.cause as ApplicationFailure).type).toBe('CanaryFailed');
    const after = await ts.snapshot();
    expect(after).toMatchObject({
      currentVersion: before.currentVersion,
      currentValue: before.currentValue,
      pendingVersion: null,
    });
  });

  it('an operator abort during the approval gate compensates and reports who aborted', async () => {
    const ts = await makeStore('initial-abort-value');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, { approval: { beforeRevoke: true } });
    const out = await tw.run(async () => {
      const h = await start({ playbook });
      await waitForPhase(h, 'approval');
      expect((await h.query(statusQuery)).awaitingApproval).toBe(true);
      await h.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'wrong window' }] });
      return outcomeOf(h);
    });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    const failure = out.error.cause as ApplicationFailure;
    expect(failure.type).toBe(WorkflowErrorTypes.aborted);
    expect(failure.message).toContain('aborted by alice: wrong window during approval');
    const after = await ts.snapshot();
    expect(after).toMatchObject({
      currentVersion: before.currentVersion,
      currentValue: before.currentValue,
      pendingVersion: null,
    });
  });
});
