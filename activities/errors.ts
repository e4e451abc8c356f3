import { ApplicationFailure } from '@temporalio/common';

/**
 * Stable failure types. Permanent ones are non-retryable so the rotation fails fast into
 * compensation instead of retrying something that cannot succeed.
 */
export const ErrorTypes = {
  secretNotFound: 'SecretNotFound',
  permissionDenied: 'PermissionDenied',
  invalidInput: 'InvalidInput',
  canaryFailed: 'CanaryFailed',
  conflict: 'RotationConflict',
  clusterNotConverged: 'ClusterNotConverged',
  deliveryMisconfigured: 'DeliveryMisconfigured',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

/** A non-retryable failure with a stable type; the message must never contain a secret value. */
export function permanent(type: ErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
