/**
 * Two waits that are not failures, on Temporal's time-skipping test server (workflows/activity-calls.ts,
 * workflows/profiles.ts): a backend that throttles (`BackendThrottled`, Vault's 429) slows a
 * rotation without using up the attempts its steps have for real failures, forward and in undos;
 * and a step no worker started within the emergency's halved stage timeout is scheduled again
 * instead of rolling back. That a step a worker did start keeps its stage's bound when its retry
 * queues is shown on the real server (test/integration/queue-waits.test.ts): this test server
 * does not time out a queued retry.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationResult } from '../../core/status';
import type { FakeStore } from '../helpers/fake-store';
import { testPlaybook } from '../helpers/playbooks';
import { DAY, failureOf, fakeStoreRef, MINUTE, statusOf, useTimeSkipping } from '../helpers/time-skipping';

const SECOND = 1000;
const ts = useTimeSkipping();
/** A worker of `ts.worker` on a test's own task queue. */
type QueueWorker = Awaited<ReturnType<typeof ts.worker>>;

/** Seconds between the calls of `activity`, rounded to the second. */
function gapsOf(fake: FakeStore, activity: string): number[] {
  const at = fake.calls.filter((c) => c.name === activity).map((c) => c.at);
  return at.slice(1).map((t, i) => Math.round((t - (at[i] ?? t)) / SECOND));
}

const count = (fake: FakeStore, activity: string) => fake.names().filter((n) => n === activity).length;

describe('a throttling backend slows a rotation without failing it', () => {
  it('12 throttled creates (more than the 8 attempts a create has) end rotated, waiting 1 s doubling to 30 s', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef), {}, (s) => {
      s.state.throttled.createPendingVersion = 12;
    });
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    await ts.record(h, 'throttle-waits');
    const waits = [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30];
    // Each gap is the wait, plus at most a second the server's clock ran while the worker was busy.
    const gaps = gapsOf(fake, 'createPendingVersion');
    expect({ gaps, over: gaps.map((g, i) => g - (waits[i] ?? 0)).filter((d) => d < 0 || d > 1) }).toEqual({
      gaps: expect.any(Array) as unknown,
      over: [],
    });
    expect(gaps).toHaveLength(waits.length);
    expect(fake.state).toMatchObject({ current: 'v2', pending: null, revoked: ['v1'] });
    // Nothing was undone: a throttle is not a failure of the step.
    expect(fake.names()).not.toContain('discardPendingVersion');
    const create = (await statusOf(h)).stages.find((s) => s.name === 'create');
    expect(create?.detail).toBe('the backend throttled create (12×): calling again in 30 s');
  });

  it('throttles do not use up the attempts meant for real failures: 4 outage failures and 10 throttles still rotate', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef), {}, (s) => {
      // Failing (as an outage) for 10 s from the first call: attempts at 0, 1, 3, 7 s fail, then throttles.
      s.state.outageFor.createPendingVersion = 10 * SECOND;
      s.state.throttled.createPendingVersion = 10;
    });
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    // 4 outage attempts + 10 throttled calls + the one that worked: 15 calls of a step allowed 8 attempts.
    expect(count(fake, 'createPendingVersion')).toBe(15);
    expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
  });

  it('undos survive a throttle: a rollback whose demote and discard are throttled 15× each ends rolled back cleanly', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef), {}, (s) => {
      s.state.throttled.demoteVersion = 15;
      s.state.throttled.discardPendingVersion = 15;
    });
    fake.state.outages.promoteVersion = now + DAY;
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(count(fake, 'demoteVersion')).toBe(16);
    expect(count(fake, 'discardPendingVersion')).toBe(16);
    const status = await statusOf(h);
    expect(status.phase).toBe('rolled-back');
    expect(status.compensation.map((u) => [u.step, u.ok])).toEqual([
      ['demote new version', true],
      ['discard pending version', true],
    ]);
    expect(fake.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
  });

  it('a backend that throttles past the forward budget (15 min of waits) rolls back, saying it throttled', async () => {
    const { h, store: fake } = await ts.start(testPlaybook(fakeStoreRef), {}, (s) => {
      s.state.throttled.createPendingVersion = 10_000;
    });
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(failure.message).toContain('throttled (HTTP 429 Too Many Requests');
    const calls = fake.calls.filter((c) => c.name === 'createPendingVersion').map((c) => c.at);
    // 1+2+4+8+16 s, then 30 s each, until at least 15 min were waited (15 min 1 s): 35 calls.
    expect(calls.length).toBe(35);
    const waited = (calls.at(-1) ?? 0) - (calls[0] ?? 0);
    // The server's clock also moves (a little) while the worker runs each task.
    expect(waited).toBeGreaterThanOrEqual(15 * MINUTE + SECOND);
    expect(waited).toBeLessThan(15 * MINUTE + 10 * SECOND);
    expect(fake.state).toMatchObject({ current: 'v1', pending: null });
  });
});

describe("an emergency's step queued for a busy worker", () => {
  // timeouts.plan 20 s, halved by the emergency: 10 s for the plan step, which may queue 5 s a call.
  const emergency = { trigger: 'emergency', emergency: { compromised: false } } as const;
  const playbook = () => testPlaybook(fakeStoreRef, { timeouts: { plan: '20s' } });

  /**
   * Runs `scenario` on a fresh task queue served by a worker that runs only workflows (it stays
   * throughout, so activities wait in the queue for want of a worker), and the activity workers it adds.
   */
  async function onQueue(scenario: (queue: string, add: (w: QueueWorker) => void) => Promise<void>): Promise<void> {
    const queue = `queued-${randomUUID()}`;
    const workers: QueueWorker[] = [];
    const running: Promise<void>[] = [];
    const add = (w: QueueWorker) => {
      workers.push(w);
      running.push(w.worker.run());
    };
    add(await ts.worker(queue, 'workflows'));
    try {
      await scenario(queue, add);
    } finally {
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      await Promise.all(running);
      await Promise.all(workers.map((w) => w.close()));
    }
  }

  it('is scheduled again, not rolled back, when no worker started it within its halved plan timeout: it ends rotated', async () => {
    await onQueue(async (queue, add) => {
      const queued = 15 * SECOND;
      // The first activity worker stops taking tasks once admission is done, so the plan step waits
      // in the queue with no free slot, as behind a busy worker's full slots; a second one comes later.
      const first = await ts.worker(queue, 'activities', (name) => {
        if (name === 'admitRotation') first.worker.shutdown();
      });
      add(first);
      const start = await ts.server().currentTimeMs();
      const { h, store: fake } = await ts.start(playbook(), emergency, () => undefined, queue);
      await until(() => first.worker.getState() !== 'RUNNING');
      // 15 s in the queue, past the plan's 10 s (the server's clock runs in real time while an
      // activity waits, so the test takes that long; the 2-minute queue budget is not reached).
      await ts.server().sleep(queued);
      expect(fake.names()).toEqual([]);
      add(await ts.worker(queue, 'activities'));
      const result = (await h.result()) as RotationResult;
      expect(result.outcome).toBe('rotated');
      expect(fake.firstAt('planRotation') - start).toBeGreaterThanOrEqual(queued);
      expect(count(fake, 'planRotation')).toBe(1);
      expect(fake.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
      // Scheduled again at 5 s and 10 s; the stage said why it waited.
      const plan = (await statusOf(h)).stages.find((s) => s.name === 'plan');
      expect(plan?.detail).toMatch(/^no worker started plan within 5 s \([23]×\)/);
      await ts.record(h, 'step-rescheduled');
    });
  }, 120_000);
});

/** Polls in real time until `ok` holds (at most 30 s). */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!ok()) throw new Error('the condition never held');
}
