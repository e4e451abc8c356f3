/**
 * The saga on Temporal's time-skipping test server, with the fake store (as samples-typescript
 * tests compensation): a step that keeps failing rolls back last-first, and an undo that cannot
 * succeed within its 30-minute retry bound is reported, not swallowed. Half an hour of undo
 * retries takes seconds here.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowErrorTypes } from '../../core/failures';
import { testPlaybook } from '../helpers/playbooks';
import { DAY, failureOf, fakeStoreRef, MINUTE, statusOf, useTimeSkipping } from '../helpers/time-skipping';

const ts = useTimeSkipping();

describe('compensation (saga) on the time-skipping server', () => {
  it('a promote that keeps failing rolls back last-first: demote, then discard; the old version is current', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef));
    fake.state.outages.promoteVersion = now + DAY;
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(failure.message).toMatch(/rolled back: promote failed: .*ECONNREFUSED \(injected outage\)/);
    // Undos ran after the forward attempts stopped, newest step's undo first.
    const undos = fake.names().filter((n) => n === 'demoteVersion' || n === 'discardPendingVersion');
    expect(undos).toEqual(['demoteVersion', 'discardPendingVersion']);
    expect(fake.firstAt('demoteVersion')).toBeGreaterThan(fake.firstAt('promoteVersion'));
    expect(fake.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
    const status = await statusOf(h);
    expect(status.phase).toBe('rolled-back');
    expect(status.compensation.map((u) => [u.step, u.ok])).toEqual([
      ['demote new version', true],
      ['discard pending version', true],
    ]);
  });

  it('an undo that fails for its whole 30-minute bound is reported as RotationCompensationFailed, naming it', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef));
    fake.state.outages.promoteVersion = now + DAY;
    fake.state.outages.discardPendingVersion = now + DAY;
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.compensationFailed);
    expect(failure.message).toContain('could not be fully rolled back');
    expect(failure.message).toContain('Manual repair needed');
    // The failing undo was retried for its bound (workflow time), and the others still ran.
    const discards = fake.calls.filter((c) => c.name === 'discardPendingVersion').map((c) => c.at);
    expect(discards.length).toBeGreaterThan(5);
    expect((discards.at(-1) ?? 0) - (discards[0] ?? 0)).toBeGreaterThan(20 * MINUTE);
    expect(fake.names()).toContain('demoteVersion');
    const status = await statusOf(h);
    expect(status.phase).toBe('compensation-failed');
    const discard = status.compensation.find((u) => u.step === 'discard pending version');
    expect(discard?.ok).toBe(false);
    expect(discard?.error).toMatch(/ECONNREFUSED \(injected outage\)/);
    expect(status.compensation.find((u) => u.step === 'demote new version')?.ok).toBe(true);
  });
});
