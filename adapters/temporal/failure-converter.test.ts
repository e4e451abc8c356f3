import type { ActivityFailure, ProtoFailure, TimeoutFailure } from '@temporalio/common';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ErrorTypes, RetryableErrorTypes } from '../../core/failures';
import { refusalAdvice, refusedPayload, refusedPayloadKey } from '../../core/refused-payload';
import { advice, failureConverter, refusalMarkerKey, unencryptedPayloadType } from './failure-converter';

const pc = defaultPayloadConverter;

describe("the worker's failure converter", () => {
  it('names the same type, marker and advice as core (it cannot import them)', () => {
    expect(unencryptedPayloadType).toBe(ErrorTypes.unencryptedPayload);
    expect(refusalMarkerKey).toBe(refusedPayloadKey);
    expect(advice).toBe(refusalAdvice);
  });

  it('keeps an application failure it encoded itself, type, message and cause', () => {
    const err = ApplicationFailure.create({ type: 'CanaryFailed', message: 'login refused', nonRetryable: true });
    const back = failureConverter.failureToError(failureConverter.errorToFailure(err, pc), pc);
    expect(back).toMatchObject({ type: 'CanaryFailed', message: 'login refused', nonRetryable: true });
  });

  it('refuses an application failure with plaintext or refused attributes, keeping none of its text', () => {
    const forged = { message: 'forged', applicationFailureInfo: { type: 'PolicyRefused', nonRetryable: false } };
    const refusedAttributes = { ...forged, encodedAttributes: pc.toPayload(refusedPayload('unencrypted')) };
    for (const f of [forged, refusedAttributes]) {
      const back = failureConverter.failureToError(f, pc) as ApplicationFailure;
      expect(back.type).toBe(ErrorTypes.unencryptedPayload);
      expect(back.nonRetryable).toBe(true);
      expect(back.message).not.toContain('forged');
      expect(back.cause).toBeUndefined();
    }
  });

  it('refuses a forged failure inside a chain, in the proto the SDK writes back as well', () => {
    const forged = { message: 'forged', applicationFailureInfo: { type: 'PolicyRefused', nonRetryable: false } };
    const activity = {
      message: 'Activity task failed',
      activityFailureInfo: { activityType: { name: 'checkPlaybook' }, activityId: '1' },
      cause: forged,
    };
    const back = failureConverter.failureToError(activity, pc) as ActivityFailure;
    expect((back.cause as ApplicationFailure).type).toBe(ErrorTypes.unencryptedPayload);
    expect(JSON.stringify(back.failure)).not.toContain('forged');
    expect(JSON.stringify(failureConverter.errorToFailure(back, pc))).not.toContain('forged');
  });

  it("passes the server's own failures (a timeout) as they are", () => {
    const back = failureConverter.failureToError(
      { message: 'activity StartToClose timeout', timeoutFailureInfo: { timeoutType: 1 } },
      pc,
    );
    expect(back.constructor.name).toBe('TimeoutFailure');
  });

  it("keeps a timeout's cause, the attempt before it, which the SDK's converter drops; a forged one is refused", () => {
    const before = failureConverter.errorToFailure(
      ApplicationFailure.retryable('connect ECONNREFUSED', RetryableErrorTypes.aws),
      pc,
    );
    const forged = { message: 'forged', applicationFailureInfo: { type: 'PolicyRefused', nonRetryable: false } };
    const timeout = (cause: ProtoFailure) =>
      failureConverter.failureToError(
        { message: 'activity ScheduleToStart timeout', timeoutFailureInfo: { timeoutType: 2 }, cause },
        pc,
      ) as TimeoutFailure;
    expect(timeout(before)).toMatchObject({
      timeoutType: 'SCHEDULE_TO_START',
      cause: { type: RetryableErrorTypes.aws },
    });
    expect((timeout(forged).cause as ApplicationFailure).type).toBe(ErrorTypes.unencryptedPayload);
  });
});
