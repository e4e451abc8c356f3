/**
 * Soak and the rotation window on Temporal's time-skipping test server: hours of workflow time pass
 * in seconds, so the real durations users configure are tested, not shortened stand-ins.
 */
import { describe, expect, it } from 'vitest';
import type { RotationResult, RotationStatus } from '../../core/status';
import { skipSoakSignal } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import {
  fakeStoreRef,
  HOUR,
  MINUTE,
  reach,
  statusOf as status,
  until,
  useTimeSkipping,
} from '../helpers/time-skipping';

const ts = useTimeSkipping();

describe('soak', () => {
  it('a 2h soak waits 2h of workflow time after promote, then revokes the old version', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef, { soak: '2h' }));
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    const waited = fake.firstAt('revokeVersion') - fake.firstAt('promoteVersion');
    expect(waited).toBeGreaterThanOrEqual(2 * HOUR);
    expect(waited).toBeLessThan(2 * HOUR + MINUTE);
    expect(fake.state).toMatchObject({ current: 'v2', previous: 'v1', revoked: ['v1'], finalized: true });
    expect(result.status.stages.find((s) => s.name === 'soak')?.state).toBe('done');
  });

  it('is still soaking, nothing revoked, a minute before the end; skip-soak then ends it early', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef, { soak: '2h' }));
    await reach(h, 'soak');
    await ts.server().sleep(2 * HOUR - MINUTE);
    expect((await status(h)).phase).toBe('soak');
    expect(fake.names()).not.toContain('revokeVersion');
    await h.signal(skipSoakSignal, { by: 'alice' });
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    const waited = fake.firstAt('revokeVersion') - fake.firstAt('promoteVersion');
    expect(waited).toBeGreaterThanOrEqual(2 * HOUR - MINUTE);
    expect(waited).toBeLessThan(2 * HOUR);
    expect(result.status.stages.find((s) => s.name === 'soak')?.detail).toContain('ended early by skip-soak');
  });
});

/** A daily UTC window `HH:MM` opening `hoursAhead` after the server's clock, an hour long. */
function windowAhead(now: number, hoursAhead: number): { start: string; end: string; opensAt: number } {
  const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
  // Whole minutes, as the playbook writes it.
  const opensAt = Math.ceil((now + hoursAhead * HOUR) / MINUTE) * MINUTE;
  return { start: hhmm(opensAt), end: hhmm(opensAt + HOUR), opensAt };
}

describe('rotation window', () => {
  it('a scheduled run waits for the window to open before it reads or changes anything', async () => {
    const { start, end, opensAt } = windowAhead(await ts.server().currentTimeMs(), 3);
    const playbook = testPlaybook(fakeStoreRef, { schedule: { every: '30d', window: { start, end } } });
    const { h, store: fake } = await ts.start(playbook, { trigger: 'schedule' });
    const plan = (s: RotationStatus) => s.stages.find((x) => x.name === 'plan')?.detail;
    await until(h, 'the window wait', (s) => plan(s)?.startsWith('waiting') === true);
    expect(plan(await status(h))).toBe(`waiting for the rotation window ${start}–${end} UTC`);
    await ts.server().sleep(2 * HOUR);
    expect(fake.calls).toEqual([]);
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(fake.firstAt('planRotation')).toBeGreaterThanOrEqual(opensAt);
    expect(fake.firstAt('planRotation')).toBeLessThan(opensAt + MINUTE);
    await ts.record(h, 'scheduled-window');
  });

  it('a manual run with the same window does not wait', async () => {
    const now = await ts.server().currentTimeMs();
    const { start, end } = windowAhead(now, 3);
    const playbook = testPlaybook(fakeStoreRef, { schedule: { every: '30d', window: { start, end } } });
    const { h, store: fake } = await ts.start(playbook, { trigger: 'manual' });
    expect(((await h.result()) as RotationResult).outcome).toBe('rotated');
    expect(fake.firstAt('planRotation') - now).toBeLessThan(MINUTE);
  });
});
