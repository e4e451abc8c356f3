/**
 * How `rotor rotate --wait` / `rotor watch` poll a run (cli/follow.ts), against a stand-in for the
 * Temporal client that records each call: a status query only when the run's history has grown,
 * and a query in flight never holds up the end. The commands against the real server and worker
 * are in test/integration/cli.test.ts.
 */
import type { Client } from '@temporalio/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RotationResult, RotationStatus } from '../core/status';
import { ExitCode } from './exit-codes';
import { follow } from './follow';

const status = (phase: RotationStatus['phase']) => ({ secret: 'demo', phase }) as unknown as RotationStatus;

/** A client whose run reports the given history lengths, one per describe, then closes rotated (or when `close` is called). */
function fakeClient(lengths: number[], query: () => Promise<RotationStatus>) {
  const calls = { describe: 0, query: 0 };
  let resolve: (r: RotationResult) => void = () => undefined;
  const closed = new Promise<RotationResult>((r) => (resolve = r));
  const close = () => resolve({ secret: 'demo', status: status('rotated') } as unknown as RotationResult);
  const handle = {
    describe: () => {
      const length = lengths[calls.describe++];
      if (length === undefined) close();
      return Promise.resolve({ historyLength: length ?? lengths.at(-1) });
    },
    query: () => {
      calls.query++;
      return query();
    },
    result: () => closed,
  };
  const client = {
    workflow: { getHandle: () => handle },
    connection: { withDeadline: (_deadline: number, fn: () => Promise<unknown>) => fn() },
  } as unknown as Client;
  return { client, calls, close };
}

afterEach(() => vi.restoreAllMocks());

describe('follow', () => {
  it('queries the worker only when the history has grown, and prints each new status once', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const phases: RotationStatus['phase'][] = ['plan', 'distribute'];
    const { client, calls } = fakeClient([5, 5, 5, 9, 9], () => Promise.resolve(status(phases.shift() ?? 'rotated')));
    const code = await follow(client, 'rotate-demo', { json: true, runId: 'r1', taskQueue: 'rotor' });
    vi.restoreAllMocks();
    expect(code).toBe(ExitCode.ok);
    expect(calls.describe).toBeGreaterThanOrEqual(5);
    expect(calls.query).toBe(2); // history lengths 5 and 9
    const events = lines.map((l) => JSON.parse(l) as { event: string; status?: { phase: string } });
    expect(events.map((e) => (e.event === 'status' ? `status ${e.status?.phase}` : e.event))).toEqual([
      'status plan',
      'status distribute',
      'status rotated',
      'result',
    ]);
  });

  it('ends when the run closes even while a status query gets no answer', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let closeNow = () => undefined as void;
    // The run closes while its first status query is still waiting for a worker.
    const { client, calls, close } = fakeClient([5, 5, 5], () => {
      closeNow();
      return new Promise<RotationStatus>(() => undefined);
    });
    closeNow = close;
    const code = await follow(client, 'rotate-demo', { json: true, runId: 'r1', taskQueue: 'rotor' });
    expect(code).toBe(ExitCode.ok);
    expect(calls.query).toBe(1);
  });
});
