/**
 * A long needs-attention on Temporal's time-skipping test server: past
 * `needsAttention.maxHistoryEvents` the waiting run continues as new, carrying its state (the
 * versions, the point of no return, the store lock key), and the new run finishes forward once
 * the fault clears. Ten hours of 15-minute retries take seconds here, not the minutes the same
 * case took in real time.
 */
import { describe, expect, it } from 'vitest';
import type { RotationResult } from '../../core/status';
import { testPlaybook } from '../helpers/playbooks';
import { fakeStoreRef, HOUR, reach, statusOf, useTimeSkipping } from '../helpers/time-skipping';

const ts = useTimeSkipping();

describe('continue-as-new during needs-attention (maxHistoryEvents)', () => {
  it('continues as new past maxHistoryEvents with its state, and the new run finishes forward', async () => {
    const now = await ts.server().currentTimeMs();
    const playbook = testPlaybook(fakeStoreRef, { needsAttention: { maxHistoryEvents: 100 } });
    const { h, store: fake } = await ts.start(playbook);
    // A permanent 403 at revoke for the first 10 hours: 40 retries, far more than 100 events.
    fake.state.failRevokeUntil = now + 10 * HOUR;
    const firstRunId = (await h.describe()).runId;
    await reach(h, 'needs-attention');
    expect((await statusOf(h)).pointOfNoReturn).toBe(true);

    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    const client = ts.server().client.workflow;
    const first = await client.getHandle(h.workflowId, firstRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(first.historyLength).toBeGreaterThanOrEqual(100);
    const last = await client.getHandle(h.workflowId).describe();
    expect(last.runId).not.toBe(firstRunId);
    expect(last.status.name).toBe('COMPLETED');
    // The continuation revoked the version the first run created and made current, nothing else.
    expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'], finalized: true });
    expect(fake.names().filter((n) => n === 'createPendingVersion')).toHaveLength(1);
    expect(result.status.pointOfNoReturn).toBe(true);
    expect(result.status.stages.find((s) => s.name === 'revoke')?.state).toBe('done');
    await ts.record(h, 'continued-as-new-first', firstRunId);
    await ts.record(h, 'continued-as-new-last', last.runId);
  });
});
