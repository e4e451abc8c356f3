/**
 * Past the point of no return on Temporal's time-skipping test server, at the defaults users get:
 * a failing revoke retries every 15 minutes (needsAttention.retryEvery), escalates once after 24
 * hours (needsAttention.escalateAfter), and finishes forward on the first retry after the fault
 * clears, with nobody sending `rotor retry`.
 */
import { describe, expect, it } from 'vitest';
import type { RotationResult } from '../../core/status';
import { testPlaybook } from '../helpers/playbooks';
import { fakeStoreRef, HOUR, MINUTE, reach, statusOf, useTimeSkipping } from '../helpers/time-skipping';

const ts = useTimeSkipping();

describe('needs-attention retry and escalation (retryEvery 15m, escalateAfter 24h)', () => {
  it('retries every 15 minutes, escalates once after 24h, and finishes on the retry after the fault clears', async () => {
    const now = await ts.server().currentTimeMs();
    const playbook = testPlaybook(fakeStoreRef);
    const { h, store: fake, audit } = await ts.start(playbook);
    // A permanent 403 at the target for the first 25 hours of workflow time.
    fake.state.failRevokeUntil = now + 25 * HOUR;
    await reach(h, 'needs-attention');
    const first = fake.firstAt('revokeVersion');

    await ts.server().sleep(24 * HOUR - 5 * MINUTE);
    let status = await statusOf(h);
    expect(status.attention).toMatch(/^revoke keeps failing: .*access denied \(injected\)/);
    expect(audit.filter((e) => e.event === 'needs-attention-escalated')).toHaveLength(0);

    await ts.server().sleep(10 * MINUTE);
    status = await statusOf(h);
    expect(status.attention).toMatch(/^ESCALATED, unresolved for 24h: revoke keeps failing/);
    expect(audit.filter((e) => e.event === 'needs-attention-escalated')).toHaveLength(1);

    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(result.status.attention).toBeUndefined();
    // Escalated once per episode, however many retries followed.
    expect(audit.filter((e) => e.event === 'needs-attention-escalated')).toHaveLength(1);
    const attempts = fake.calls.filter((c) => c.name === 'revokeVersion').map((c) => c.at);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? t));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(15 * MINUTE);
      expect(gap).toBeLessThan(15 * MINUTE + MINUTE);
    }
    // 25h of failures at 15-minute intervals, then the first attempt after the fault cleared succeeded.
    expect(attempts).toHaveLength(25 * 4 + 1);
    expect(attempts.at(-1)).toBeGreaterThanOrEqual(now + 25 * HOUR);
    expect(attempts.at(-1)! - first).toBeLessThan(25 * HOUR + 15 * MINUTE);
    expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'], finalized: true });
    await ts.record(h, 'needs-attention-retried');
  });
});

describe('past the point of no return a Temporal cancel is noted, not obeyed', () => {
  it('a cancel while revoke keeps failing leaves revoke and finalize to finish forward', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store: fake, audit } = await ts.start(testPlaybook(fakeStoreRef));
    fake.state.failRevokeUntil = now + 2 * HOUR;
    await reach(h, 'needs-attention');
    // What `temporal workflow cancel` (or the UI's cancel button) sends.
    await h.cancel();
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'], finalized: true });
    expect(fake.calls.filter((c) => c.name === 'revokeVersion').at(-1)?.at).toBeGreaterThanOrEqual(now + 2 * HOUR);
    const noted = 'a cancel was requested past the point of no return: ignored, the rotation finishes forward';
    expect(audit.filter((e) => e.event === 'operator-action').map((e) => e.detail)).toContain(noted);
    // Nothing was rolled back: no undo ran.
    expect(fake.names()).not.toContain('demoteVersion');
    expect(fake.names()).not.toContain('discardPendingVersion');
  });
});
