import { afterEach, describe, expect, it, vi } from 'vitest';
import { whileHeartbeating } from './heartbeat';

describe('whileHeartbeating', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats at the start and every interval while the work runs, and never after it ends', async () => {
    vi.useFakeTimers();
    const beat = vi.fn();
    const done = whileHeartbeating(beat, 1000, () => new Promise<string>((r) => setTimeout(() => r('ok'), 3500)));
    expect(beat).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3500);
    await expect(done).resolves.toBe('ok');
    expect(beat).toHaveBeenCalledTimes(4);
    await vi.advanceTimersByTimeAsync(5000);
    expect(beat).toHaveBeenCalledTimes(4);
  });

  it('stops beating when the work fails, and passes the failure on', async () => {
    vi.useFakeTimers();
    const beat = vi.fn();
    const failing = whileHeartbeating(beat, 1000, () => Promise.reject(new Error('boom')));
    await expect(failing).rejects.toThrow('boom');
    await vi.advanceTimersByTimeAsync(5000);
    expect(beat).toHaveBeenCalledTimes(1);
  });
});
