import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { keepAlive } from './keep-alive';

/** Runs one wrapped activity that takes `ms`, and counts the heartbeats the environment saw. */
async function beatsDuring(heartbeatTimeoutMs: number | undefined, ms: number): Promise<number> {
  const env = new MockActivityEnvironment(heartbeatTimeoutMs ? { heartbeatTimeoutMs } : {}, {
    logger: new DefaultLogger('ERROR'),
  });
  let beats = 0;
  env.on('heartbeat', () => (beats += 1));
  const { slow } = keepAlive({ slow: (v: string) => new Promise<string>((r) => setTimeout(() => r(v), ms)) });
  expect(await env.run(slow, 'done')).toBe('done');
  return beats;
}

describe('keepAlive', () => {
  it('heartbeats while a step runs when its caller set a heartbeat timeout', async () => {
    // A 400 ms timeout beats every 250 ms (the floor): at the start and at least once during 600 ms.
    expect(await beatsDuring(400, 600)).toBeGreaterThanOrEqual(2);
  });

  it('never heartbeats without a heartbeat timeout, and runs outside a worker unchanged', async () => {
    expect(await beatsDuring(undefined, 300)).toBe(0);
    const { echo } = keepAlive({ echo: (v: number) => Promise.resolve(v * 2) });
    expect(await echo(21)).toBe(42);
  });

  it('passes failures through', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 1000 }, { logger: new DefaultLogger('ERROR') });
    const { fails } = keepAlive({ fails: () => Promise.reject(new Error('store refused')) });
    await expect(env.run(fails)).rejects.toThrow('store refused');
  });
});
