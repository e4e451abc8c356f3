/**
 * The approval gate's timeout on Temporal's time-skipping test server, at the default of 7 days:
 * no approval in time alerts and rolls back (nothing was revoked yet); a late-but-in-time approval
 * goes on to revoke.
 */
import { describe, expect, it } from 'vitest';
import type { ApplicationFailure } from '@temporalio/common';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationResult } from '../../core/status';
import { approveUpdate } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { DAY, failureOf, fakeStoreRef, MINUTE, statusOf, until, useTimeSkipping } from '../helpers/time-skipping';

const ts = useTimeSkipping();

describe('approval gate timeout (approval.timeout, default 7 days)', () => {
  it('no approval within 7 days: still waiting a minute before, then alerts and rolls back cleanly', async () => {
    const { h, store: fake, audit } = await ts.start(testPlaybook(fakeStoreRef, { approval: { beforeRevoke: true } }));
    await until(h, 'the approval gate', (s) => s.awaitingApproval);
    const gateOpened = fake.firstAt('promoteVersion');
    await ts.server().sleep(7 * DAY - MINUTE);
    expect((await statusOf(h)).awaitingApproval).toBe(true);
    expect(fake.names()).not.toContain('demoteVersion');

    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(failure.message).toContain('no approval within 168h (approval.timeout): rolling back');
    expect((failure.cause as ApplicationFailure).type).toBe(WorkflowErrorTypes.approvalTimedOut);
    expect(audit.filter((e) => e.event === 'approval-timed-out')).toHaveLength(1);
    // Undone at the timeout, not before: the old version current again, the new one discarded, nothing revoked.
    expect(fake.firstAt('demoteVersion') - gateOpened).toBeGreaterThanOrEqual(7 * DAY);
    expect(fake.firstAt('demoteVersion') - gateOpened).toBeLessThan(7 * DAY + MINUTE);
    expect(fake.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
    expect(fake.names()).not.toContain('revokeVersion');
    const status = await statusOf(h);
    expect(status.phase).toBe('rolled-back');
    expect(status.awaitingApproval).toBe(false);
    // A late approval is refused: the gate is closed.
    await expect(h.executeUpdate(approveUpdate, { args: [{ by: 'late' }] })).rejects.toThrow();
    await ts.record(h, 'approval-timed-out');
  });

  it('an approval after 6 days is in time: the run revokes the old version and completes', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef, { approval: { beforeRevoke: true } }));
    await until(h, 'the approval gate', (s) => s.awaitingApproval);
    await ts.server().sleep(6 * DAY);
    await h.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    const waited = fake.firstAt('revokeVersion') - fake.firstAt('promoteVersion');
    expect(waited).toBeGreaterThanOrEqual(6 * DAY);
    expect(waited).toBeLessThan(7 * DAY);
    expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
    expect(result.status.stages.find((s) => s.name === 'approval')?.detail).toBe('approved by bob');
    await ts.record(h, 'approval-granted');
  });
});
