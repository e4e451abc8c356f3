/**
 * Activity retry back-off and stage timeouts on Temporal's time-skipping test server. Forward store
 * steps use the `store` profile (workflows/profiles.ts: 1s doubling to 20s, at most 8 attempts),
 * bounded by the stage's `timeouts.<stage>`; a store outage longer than that rolls back.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationResult } from '../../core/status';
import type { FakeStore } from '../helpers/fake-store';
import { testPlaybook } from '../helpers/playbooks';
import { failureOf, fakeStoreRef, HOUR, useTimeSkipping } from '../helpers/time-skipping';

const SECOND = 1000;
const ts = useTimeSkipping();

/** Seconds between the attempts of `activity`, rounded to the second. */
function gapsOf(fake: FakeStore, activity: string): number[] {
  const at = fake.calls.filter((c) => c.name === activity).map((c) => c.at);
  return at.slice(1).map((t, i) => Math.round((t - (at[i] ?? t)) / SECOND));
}

describe('store retry back-off (profile store: 1s ×2 up to 20s, 8 attempts)', () => {
  it('an outage at create backs off 1, 2, 4, 8, 16, 20, 20 s, then rolls back with the store as before', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef));
    fake.state.outages.createPendingVersion = now + HOUR;
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(failure.message).toContain('injected outage');
    expect(gapsOf(fake, 'createPendingVersion')).toEqual([1, 2, 4, 8, 16, 20, 20]);
    // The undo of create ran after the last attempt; nothing was promoted or revoked.
    const lastCreate = Math.max(...fake.calls.filter((c) => c.name === 'createPendingVersion').map((c) => c.at));
    expect(fake.firstAt('discardPendingVersion')).toBeGreaterThanOrEqual(lastCreate);
    expect(fake.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
    expect(fake.names()).not.toContain('promoteVersion');
  });

  it('an outage shorter than the back-off is ridden out: the rotation completes', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef));
    // Up 10 s after create's first attempt (not after the start: the steps before it take server
    // time too, more on a loaded machine): attempts at 0, 1, 3, 7 s fail, the one at 15 s succeeds.
    fake.state.outageFor.createPendingVersion = 10 * SECOND;
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(gapsOf(fake, 'createPendingVersion')).toEqual([1, 2, 4, 8]);
    expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
  });

  it('timeouts.plan bounds the retries: a 30s plan timeout stops the back-off after 15 s and rolls back', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef, { timeouts: { plan: '30s' } }));
    fake.state.outages.planRotation = now + HOUR;
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    // Attempts at 0, 1, 3, 7, 15 s; the next (31 s) would pass the stage's 30 s.
    expect(gapsOf(fake, 'planRotation')).toEqual([1, 2, 4, 8]);
    expect(fake.names()).not.toContain('createPendingVersion');
    expect(fake.state).toMatchObject({ current: 'v1', pending: null });
  });

  it('an emergency halves the stage timeouts: with timeouts.plan 40s it gives up after 20 s instead of 40 s', async () => {
    const attemptsWith = async (input: Parameters<typeof ts.start>[1]) => {
      const now = await ts.server().currentTimeMs();
      const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef, { timeouts: { plan: '40s' } }), input);
      fake.state.outages.planRotation = now + HOUR;
      expect((await failureOf(h)).type).toBe(WorkflowErrorTypes.rolledBack);
      return gapsOf(fake, 'planRotation');
    };
    // Attempts at 0, 1, 3, 7, 15 s (the next, 31 s, is past 20 s) against 0 … 31 s (the next, 51 s, past 40 s).
    expect(await attemptsWith({ trigger: 'emergency', emergency: { compromised: false } })).toEqual([1, 2, 4, 8]);
    expect(await attemptsWith({})).toEqual([1, 2, 4, 8, 16]);
  });
});
