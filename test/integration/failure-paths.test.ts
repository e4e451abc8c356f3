import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { runClusterBatch, syncOneOver } from '../../activities/cluster-batch';
import { createActivities } from '../../activities/index';
import type { RotationActivities } from '../../activities/index';
import type { ClusterBatchInput } from '../../core/cluster-batch';
import type { ClusterInput } from '../../core/contracts';
import { RetryableErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { connectClient } from '../../adapters/temporal/connection';
import { CliError, ExitCode } from '../../cli/exit-codes';
import { supersede } from '../../cli/supersede';
import { depsFromEnv } from '../../workers/deps';
import { inlineUpTo } from '../../workflows/cluster-batches';
import type { AuditEvent } from '../../workflows/audit';
import { retrySignal, statusQuery } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';

useStackEnv();

/**
 * Failure paths at workflow level: store activities are real (moto), the clusters are fakes behind
 * the real batch runner, so a fault can be switched on and off at a chosen step. The same paths
 * against real apiservers are in failure-paths-kube.test.ts.
 */
type Fault = 'none' | 'forbidden' | 'unreachable';

function fakeClusters() {
  const serving = new Map<string, { current: string; other: string | null }>();
  const state = { fault: 'none' as Fault, faultAt: 'revoke' as 'revoke' | 'restore', original: '' };
  const stepOf = (i: ClusterInput) =>
    i.versions.other === null ? (i.versions.current.version === state.original ? 'restore' : 'revoke') : 'other';
  const steps = {
    deliverToCluster(i: ClusterInput) {
      state.original ||= i.versions.current.version;
      if (i.cluster.name === 'c-bad' && stepOf(i) === state.faultAt && state.fault !== 'none') {
        return Promise.reject(
          state.fault === 'forbidden'
            ? ApplicationFailure.create({
                type: 'PermissionDenied',
                message: `${i.cluster.name}: secrets "api-key" is forbidden (injected)`,
                nonRetryable: true,
              })
            : ApplicationFailure.retryable(
                `${i.cluster.name}: connect ECONNREFUSED (injected)`,
                RetryableErrorTypes.kubernetes,
              ),
        );
      }
      serving.set(i.cluster.name, { current: i.versions.current.version, other: i.versions.other?.version ?? null });
      return Promise.resolve();
    },
    verifyCluster: () => Promise.resolve(),
  };
  /** Each batch activity attempt: its step and clusters. */
  const calls: { step: string; clusters: string[] }[] = [];
  const syncClusterBatch = (input: ClusterBatchInput) => {
    calls.push({ step: input.step, clusters: input.clusters.map((c) => c.name) });
    return runClusterBatch(input, syncOneOver(input, steps), () => []);
  };
  return { serving, state, calls, syncClusterBatch };
}

const fleetOf = (names: string[]) =>
  names.map((name) => ({ name, delivery: 'push' as const, namespace: 'payments', secretName: 'api-key' }));
const clusters = fleetOf(['c-good', 'c-bad']);
// More clusters than run inline: each step's batch is a child workflow of its own.
const twelve = fleetOf([...Array.from({ length: 11 }, (_, i) => `c-good-${String(i).padStart(2, '0')}`), 'c-bad']);
/** Both shapes a cluster step takes: run in the rotation itself (small fleets) and in batch children. */
const shapes = [
  { fleet: clusters, how: 'steps inline' },
  { fleet: twelve, how: 'batch children' },
];

interface Run {
  h: WorkflowHandle;
  ts: TestStore;
  audit: AuditEvent[];
  real: RotationActivities;
}

/** Starts a rotation on a fresh worker, runs `drive` while it runs, and closes the worker. */
async function withRotation<T>(
  spec: Partial<PlaybookInput['spec']>,
  fakes: ReturnType<typeof fakeClusters>,
  drive: (r: Run) => Promise<T>,
): Promise<T> {
  const ts = await awsTestStore('failure-paths-initial');
  const real = createActivities(depsFromEnv());
  const audit: AuditEvent[] = [];
  const tw = await startTestWorker(
    {
      ...real,
      syncClusterBatch: fakes.syncClusterBatch,
      planRotation: (input: Parameters<typeof real.planRotation>[0]) => real.planRotation({ ...input, clusters: [] }),
      // Nor pods for the consumer gate (consumer-gate.test.ts gates real pods).
      consumerGate: (input: Parameters<typeof real.consumerGate>[0]) => real.consumerGate({ ...input, clusters: [] }),
    },
    { audit: { record: { fn: (_info, e: AuditEvent) => void audit.push(e), callDuringReplay: false } } },
  );
  const playbook = testPlaybook(ts.store, spec);
  try {
    return await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      return drive({ h, ts, audit, real });
    });
  } finally {
    await tw.close();
  }
}

const status = (h: WorkflowHandle) => h.query<RotationStatus>(statusQuery);

/** Child workflow ids the run started, in order. */
async function childIds(h: WorkflowHandle): Promise<string[]> {
  const events = (await h.fetchHistory()).events ?? [];
  return events.flatMap((e) =>
    e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '']
      : [],
  );
}

describe('revoke past the point of no return', () => {
  it.each(shapes)(
    'a permanent 403 in one of $fleet.length clusters ($how): needs-attention, the old credential still revoked, forward after retry',
    async ({ fleet }) => {
      const fakes = fakeClusters();
      fakes.state.fault = 'forbidden';
      const good = fleet.filter((c) => c.name !== 'c-bad').map((c) => c.name);
      await withRotation({ clusters: fleet }, fakes, async ({ h, ts, audit }) => {
        const before = await ts.snapshot();
        await waitForPhase(h, 'needs-attention');
        const s = await status(h);
        expect(s.attention).toContain('revoke keeps failing');
        expect(s.attention).toContain('forbidden (injected)');
        expect(s.pointOfNoReturn).toBe(true);
        // The target's revocation did not wait for the failing cluster: the old version is revoked and proven.
        expect(s.revocation?.rejected).toBe(true);
        expect(new Map(s.clusters.map((c) => [c.name, c.phase]))).toEqual(
          new Map([...good.map((c): [string, string] => [c, 'revoked']), ['c-bad', 'failed']]),
        );
        expect(audit.filter((e) => e.event === 'needs-attention')).toHaveLength(1);
        // The workflow did not fail: it waits, and a retry while the fault stays alerts again.
        await h.signal(retrySignal, { by: 'oncall' });
        // Bounded generously: on a loaded 2-core CI machine one retry round can take tens of seconds.
        for (let i = 0; i < 600 && audit.filter((e) => e.event === 'needs-attention').length < 2; i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(audit.filter((e) => e.event === 'needs-attention')).toHaveLength(2);
        fakes.state.fault = 'none';
        await h.signal(retrySignal, { by: 'oncall' });
        const o = await outcomeOf(h);
        expect(o.ok).toBe(true);
        const after = await ts.snapshot();
        expect(after.previousVersion).toBe(before.currentVersion);
        expect(after.pendingVersion).toBeNull();
        for (const c of fleet)
          expect(fakes.serving.get(c.name)).toEqual({ current: after.currentVersion, other: null });
        const done = await status(h);
        expect(done.phase).toBe('rotated');
        expect(done.attention).toBeUndefined();
        // Retries revoke only the clusters left.
        expect(fakes.calls.filter((c) => c.step === 'revoke').map((c) => c.clusters)).toEqual([
          fleet.map((c) => c.name),
          ['c-bad'],
          ['c-bad'],
        ]);
        // A fleet above inlineUpTo revokes in a batch child; the retries of the one cluster left run inline.
        const revokes = (await childIds(h)).filter((id) => id.includes('/revoke'));
        expect(revokes.map((id) => id.replace(/^.*\/(revoke[^/]*)\/(.*)$/, '$1 $2'))).toEqual(
          fleet.length > inlineUpTo ? ['revoke batch-c-good-00+12'] : [],
        );
      });
    },
    180_000,
  );

  it('an unreachable cluster: each attempt bounded by timeouts.revoke, retried on schedule until it is back', async () => {
    const fakes = fakeClusters();
    fakes.state.fault = 'unreachable';
    await withRotation(
      { clusters, timeouts: { revoke: '6s' }, needsAttention: { retryEvery: '2s' } },
      fakes,
      async ({ h, ts }) => {
        await waitForPhase(h, 'needs-attention');
        const s = await status(h);
        expect(s.attention).toMatch(/revoke keeps failing: .*c-bad/);
        fakes.state.fault = 'none';
        // No retry signal: the automatic retry finishes it.
        const o = await outcomeOf(h);
        expect(o.ok).toBe(true);
        const after = await ts.snapshot();
        expect(fakes.serving.get('c-bad')).toEqual({ current: after.currentVersion, other: null });
      },
    );
  }, 120_000);
});

describe('a long needs-attention', () => {
  it('continues as new past needsAttention.maxHistoryEvents, carrying its state, and finishes forward', async () => {
    const fakes = fakeClusters();
    fakes.state.fault = 'forbidden';
    await withRotation(
      { clusters, needsAttention: { retryEvery: '1s', maxHistoryEvents: 150 } },
      fakes,
      async ({ h, ts, audit }) => {
        const before = await ts.snapshot();
        await waitForPhase(h, 'needs-attention');
        const firstRunId = (await h.describe()).runId;
        let latest = firstRunId;
        for (let i = 0; i < 900 && latest === firstRunId; i++) {
          await new Promise((r) => setTimeout(r, 200));
          latest = (await h.describe()).runId;
        }
        expect(latest).not.toBe(firstRunId);
        const first = await h.client.getHandle(h.workflowId, firstRunId).describe();
        expect(first.status.name).toBe('CONTINUED_AS_NEW');
        expect(first.historyLength).toBeLessThan(400);
        // The continuation carries the status: past the point of no return, what is revoked and what failed.
        const carried = await status(h);
        expect(carried.pointOfNoReturn).toBe(true);
        expect(carried.revocation?.rejected).toBe(true);
        expect(new Map(carried.clusters.map((c) => [c.name, c.phase])).get('c-good')).toBe('revoked');
        // (The stage note "continued as new after N history events" is not asserted: the new run's
        // next retry may replace it before the query lands — it raced in a fresh-clone CI run.)
        fakes.state.fault = 'none';
        await h.signal(retrySignal, { by: 'oncall' });
        expect((await outcomeOf(h)).ok).toBe(true);
        const after = await ts.snapshot();
        expect(after.previousVersion).toBe(before.currentVersion);
        expect(after.pendingVersion).toBeNull();
        for (const c of clusters)
          expect(fakes.serving.get(c.name)).toEqual({ current: after.currentVersion, other: null });
        // The store's bookkeeping names the first run, whose id made the new version.
        const completed = audit.filter((e) => e.event === 'rotation-completed');
        expect(completed).toHaveLength(1);
        expect(after.currentVersion).toBe(firstRunId);
      },
    );
  }, 240_000);
});

describe('an emergency meeting a run stuck in needs-attention', () => {
  it('retries it, waits at most --supersede-wait, and then refuses with exit 3 naming why; once it clears it goes on', async () => {
    const fakes = fakeClusters();
    fakes.state.fault = 'forbidden';
    await withRotation({ clusters }, fakes, async ({ h, audit }) => {
      await waitForPhase(h, 'needs-attention');
      const client = await connectClient();
      try {
        const by = { by: 'oncall@example', reason: 'key leaked' };
        const refused = await supersede(client, h.workflowId, by, 3_000).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(CliError);
        expect((refused as CliError).exitCode).toBe(ExitCode.attention);
        expect((refused as CliError).message).toMatch(/past the point of no return .*forbidden \(injected\)/);
        expect((refused as CliError).message).toContain('the emergency rotation was NOT started');
        // It asked the stuck run to retry now, which alerted again.
        expect(audit.some((e) => e.event === 'operator-action' && e.by === 'oncall@example')).toBe(true);
        fakes.state.fault = 'none';
        const done = await supersede(client, h.workflowId, by, 60_000);
        expect(done.action).toBe('waited-past-point-of-no-return');
        expect((await status(h)).phase).toBe('rotated');
      } finally {
        await client.connection.close();
      }
    });
  }, 120_000);
});

describe('restore', () => {
  it.each(shapes)(
    'verification during restore of $fleet.length clusters ($how) keeps the waiting timeouts and has no overall bound (it never gives up)',
    async ({ fleet }) => {
      const fakes = fakeClusters();
      await withRotation(
        { clusters: fleet, canaries: [{ type: 'command', name: 'no', command: ['false'] }] },
        fakes,
        async ({ h }) => {
          const o = await outcomeOf(h);
          expect(o.ok).toBe(false);
          const restore = (await childIds(h)).find((id) => id.includes('/restore/'));
          expect(restore !== undefined).toBe(fleet.length > inlineUpTo);
          // Inline, restore is the parent's last batch activity (after dual-read of the first wave).
          const history = await (restore ? h.client.getHandle(restore) : h).fetchHistory();
          const scheduled = (history.events ?? [])
            .filter(
              (e) =>
                e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
                e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncClusterBatch',
            )
            .at(-1)?.activityTaskScheduledEventAttributes;
          expect(fakes.calls.at(-1)?.step).toBe('restore');
          expect(Number(scheduled?.startToCloseTimeout?.seconds)).toBe(30 * 60);
          expect(Number(scheduled?.heartbeatTimeout?.seconds)).toBe(30);
          // No schedule-to-close bound: zero/unset means retried until it succeeds.
          expect(Number(scheduled?.scheduleToCloseTimeout?.seconds ?? 0)).toBe(0);
          expect(scheduled?.retryPolicy?.maximumAttempts ?? 0).toBe(0);
          // The store undo keeps its own profile too: retried for 30 minutes, no attempt limit.
          const discard = ((await h.fetchHistory()).events ?? []).find(
            (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'discardPendingVersion',
          )?.activityTaskScheduledEventAttributes;
          expect(Number(discard?.scheduleToCloseTimeout?.seconds)).toBe(30 * 60);
          expect(discard?.retryPolicy?.maximumAttempts ?? 0).toBe(0);
        },
      );
    },
    120_000,
  );
});
