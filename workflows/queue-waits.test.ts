import { describe, expect, it } from 'vitest';
import { queueWaits } from './profiles';
import { afterQueueTimeout } from './queue-waits';
import type { QueueState } from './queue-waits';

const fresh: QueueState = { deadline: undefined, queuedMs: 0 };
const plan = { stageMs: 10_000, forward: true };

describe('afterQueueTimeout: a call that waited in the queue past its schedule-to-start timeout', () => {
  it('no attempt ever started: scheduled again with its whole stage timeout, the wait counted', () => {
    const v = afterQueueTimeout(plan, fresh, {
      ranBefore: false,
      scheduledAt: 0,
      now: 5_000,
      closeMs: 10_000,
      waitedMs: 5_000,
    });
    expect(v).toEqual({ again: true, closeMs: 10_000, state: { deadline: undefined, queuedMs: 5_000 } });
  });

  it('an attempt ran and its retry queued: only what is left of the timeout it started under, then that bound stays', () => {
    const first = afterQueueTimeout(plan, fresh, {
      ranBefore: true,
      scheduledAt: 20_000,
      now: 26_000,
      closeMs: 10_000,
      waitedMs: 5_000,
    });
    expect(first).toEqual({ again: true, closeMs: 4_000, state: { deadline: 30_000, queuedMs: 5_000 } });
    if (!first.again) return;
    // The next call is not started either (no cause): it still ends by the deadline, not a fresh 10 s.
    const second = afterQueueTimeout(plan, first.state, {
      ranBefore: false,
      scheduledAt: 26_000,
      now: 28_000,
      closeMs: 4_000,
      waitedMs: 2_000,
    });
    expect(second).toEqual({ again: true, closeMs: 2_000, state: { deadline: 30_000, queuedMs: 7_000 } });
    // Under a second left: it fails, as the step timing out would.
    const late = { ranBefore: false, scheduledAt: 28_000, now: 29_500, closeMs: 2_000, waitedMs: 1_000 };
    expect(afterQueueTimeout(plan, { deadline: 30_000, queuedMs: 7_000 }, late)).toEqual({ again: false });
  });

  it('a forward step stops once the queue budget went on such waits; an undo keeps waiting', () => {
    const spent: QueueState = { deadline: undefined, queuedMs: queueWaits.budgetMs - queueWaits.sliceMs };
    const t = {
      ranBefore: false,
      scheduledAt: 0,
      now: queueWaits.sliceMs,
      closeMs: undefined,
      waitedMs: queueWaits.sliceMs,
    };
    expect(afterQueueTimeout({ stageMs: undefined, forward: true }, spent, t)).toEqual({ again: false });
    expect(afterQueueTimeout({ stageMs: 1_800_000, forward: false }, spent, t)).toMatchObject({
      again: true,
      closeMs: 1_800_000,
    });
    const justUnder: QueueState = { deadline: undefined, queuedMs: queueWaits.budgetMs - queueWaits.sliceMs - 1 };
    expect(afterQueueTimeout({ stageMs: undefined, forward: true }, justUnder, t)).toMatchObject({ again: true });
  });
});
