import { ApplicationFailure } from '@temporalio/workflow';
import type { ActivityInput, QueryInput, UpdateInput } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { ErrorTypes } from '../core/failures';
import { refusedPayload } from '../core/refused-payload';
import { RefusingInbound, RefusingOutbound } from './interceptors';

// The paths that need no workflow context (start input and signals log and read workflowInfo:
// test/integration/unencrypted-signals.test.ts and temporal-abuse.test.ts run those on a worker).
const marker = refusedPayload('unencrypted');
const update = (args: unknown[]) => ({ updateId: 'u', name: 'approveUpdate', args, headers: {} }) as UpdateInput;
const query = (args: unknown[]) => ({ queryId: 'q', queryName: 'statusQuery', args, headers: {} }) as QueryInput;
const activity = { activityType: 'checkPlaybook' } as ActivityInput;

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<ApplicationFailure> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure.type).toBe(ErrorTypes.unencryptedPayload);
  expect(failure.nonRetryable).toBe(true);
  return failure;
}

describe('the workflow interceptors refuse what the codec refused', () => {
  const inbound = new RefusingInbound();
  const passed: unknown[][] = [];
  const next = (input: { args: readonly unknown[] }) => {
    passed.push([...input.args]);
    return Promise.resolve('handled');
  };

  it('an update with a refused argument, or none, is rejected by its validator and its handler', async () => {
    for (const args of [[marker], [{ by: 'bob' }, marker], []]) {
      const f = await refusal(() => inbound.validateUpdate(update(args), () => undefined));
      expect(f.message).toContain('update approveUpdate');
      await refusal(inbound.handleUpdate(update(args), next));
    }
    expect(passed).toEqual([]);
  });

  it('an update or query with encrypted arguments goes through unchanged', async () => {
    let validated = false;
    inbound.validateUpdate(update([{ by: 'bob' }]), () => void (validated = true));
    expect(validated).toBe(true);
    expect(await inbound.handleUpdate(update([{ by: 'bob' }]), next)).toBe('handled');
    expect(await inbound.handleQuery(query([]), next)).toBe('handled');
    expect(passed).toEqual([[{ by: 'bob' }], []]);
  });

  it('a query with a refused argument is rejected, naming it', async () => {
    const f = await refusal(inbound.handleQuery(query([marker]), next));
    expect(f.message).toMatch(/^refused an unencrypted payload in query statusQuery: /);
  });

  it('an activity result the codec refused fails the call; other results pass', async () => {
    const outbound = new RefusingOutbound();
    const f = await refusal(outbound.scheduleActivity(activity, () => Promise.resolve(marker)));
    expect(f.message).toContain('the result of activity checkPlaybook');
    await refusal(outbound.scheduleLocalActivity({ ...activity } as never, () => Promise.resolve(marker)));
    expect(await outbound.scheduleActivity(activity, () => Promise.resolve({ ok: 1 }))).toEqual({ ok: 1 });
    expect(await outbound.scheduleActivity(activity, () => Promise.resolve(null))).toBeNull();
  });

  it('no result is refused from an activity that always returns one, and passes from a void one', async () => {
    const outbound = new RefusingOutbound();
    const f = await refusal(outbound.scheduleActivity(activity, () => Promise.resolve(undefined)));
    expect(f.message).toMatch(
      /^refused a completion without a result \(it always returns one\) in activity checkPlaybook/,
    );
    const promote = { activityType: 'promoteVersion' } as ActivityInput;
    expect(await outbound.scheduleActivity(promote, () => Promise.resolve(undefined))).toBeUndefined();
  });
});
