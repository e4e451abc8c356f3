import { DefaultFailureConverter, TimeoutFailure } from '@temporalio/common';
import type { PayloadConverter, ProtoFailure, SerializationContext } from '@temporalio/common';

// This module is loaded by path, outside any bundler or tsx (a plain `require` in tests), so it
// imports packages only; failure-converter.test.ts checks these against core/failures and
// core/refused-payload.
/** ErrorTypes.unencryptedPayload. */
export const unencryptedPayloadType = 'UnencryptedPayload';
/** refusedPayloadKey: the codec's refusal marker. */
export const refusalMarkerKey = 'rotor.refusedPayload';
/** refusalAdvice. */
export const advice =
  "rotor workers accept only payloads encrypted with rotor's codec key: use rotor's own client (rotor rotate, rotor approve), which holds it";

/**
 * Failure messages and stack traces go through the payload codec too (`encodeCommonAttributes`),
 * so even an error text an upstream system wrote is encrypted at rest in Temporal. Loaded by path
 * into the workflow sandbox.
 *
 * An application failure whose attributes are not encrypted with rotor's key was not raised by a
 * rotor worker: a client without the codec key failed an activity by its id. Its type, message,
 * details and causes are the sender's choice, so none of them is kept: it becomes an
 * `UnencryptedPayload` failure naming only what happened, and the activity call fails as it would
 * on a forged result (workflows/interceptors.ts). Timeouts, cancellations and terminations are the
 * server's own and pass as they are, a timeout with its cause (the SDK drops it): the server names
 * there the failure of the attempt before, which is how a workflow tells a retry that queued too
 * long from a step no worker ever started (workflows/activity-calls.ts).
 */
class RefusingFailureConverter extends DefaultFailureConverter {
  override failureToError(
    failure: ProtoFailure,
    payloadConverter: PayloadConverter,
    context?: SerializationContext,
  ): Error {
    const checked = this.withoutForgeries(failure, payloadConverter, context);
    const err = super.failureToError(checked, payloadConverter, context);
    if (err instanceof TimeoutFailure && err.cause === undefined && checked.cause)
      (err as { cause?: Error }).cause = this.failureToError(checked.cause, payloadConverter, context);
    return err;
  }

  /**
   * `failure` with every forged application failure in its cause chain replaced by the refusal. The
   * chain is rewritten, not only the error built from it: the SDK keeps each failure's proto on its
   * error and writes it back unchanged when the workflow fails with it as a cause.
   */
  private withoutForgeries(
    failure: ProtoFailure,
    payloadConverter: PayloadConverter,
    context?: SerializationContext,
  ): ProtoFailure {
    if (failure.applicationFailureInfo && !this.encryptedAttributes(failure, payloadConverter, context))
      return {
        message: `refused a failure not encrypted with rotor's codec key (an activity failed by its id from outside): ${advice}`,
        applicationFailureInfo: { type: unencryptedPayloadType, nonRetryable: true },
      };
    if (!failure.cause) return failure;
    return { ...failure, cause: this.withoutForgeries(failure.cause, payloadConverter, context) };
  }

  /** The codec decoded the encoded attributes (absent, they are plaintext; refused, the marker). */
  private encryptedAttributes(
    failure: ProtoFailure,
    payloadConverter: PayloadConverter,
    context?: SerializationContext,
  ): boolean {
    if (!failure.encodedAttributes) return false;
    const attrs: unknown = payloadConverter.fromPayload(failure.encodedAttributes, context);
    return !(typeof attrs === 'object' && attrs !== null && refusalMarkerKey in attrs);
  }
}

export const failureConverter = new RefusingFailureConverter({ encodeCommonAttributes: true });
