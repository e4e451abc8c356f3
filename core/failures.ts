import { ApplicationFailure } from '@temporalio/common';

/**
 * Every failure type rotor raises, by name: the one catalogue operators, the CLI and tests match on.
 * Permanent ones are non-retryable so the rotation fails fast into compensation instead of retrying
 * something that cannot succeed; the `retryable` ones name transient trouble with a backend.
 */
export const ErrorTypes = {
  secretNotFound: 'SecretNotFound',
  permissionDenied: 'PermissionDenied',
  invalidInput: 'InvalidInput',
  canaryFailed: 'CanaryFailed',
  /** A command canary must run in the bubblewrap sandbox and this worker cannot create it. */
  commandSandboxUnavailable: 'CommandSandboxUnavailable',
  conflict: 'RotationConflict',
  clusterNotConverged: 'ClusterNotConverged',
  deliveryMisconfigured: 'DeliveryMisconfigured',
  /** A pod reads the Secret through env/envFrom/subPath and its workload is not rolled out. */
  consumerNotRolledOut: 'RestartOnlyConsumerNotRolledOut',
  /** A cluster step (or store lock) started outside a running rotation: refused, nothing changed. */
  clusterStepWithoutRotation: 'ClusterStepWithoutRotation',
  /** A side-effecting activity called without an admission grant covering its input, or by another run. */
  notAdmitted: 'NotAdmitted',
  /** Revoke found the old credential still in use (a CA's unexpired leaves): nothing was changed; the run needs attention. */
  oldCredentialInUse: 'OldCredentialStillInUse',
  /**
   * A workflow start, update, query or activity whose input was not encrypted with rotor's codec
   * key (or no listed key decrypts it): refused before anything ran. Signals are ignored instead.
   */
  unencryptedPayload: 'UnencryptedPayload',
} as const;

/** Transient backend trouble, retried by the activity's retry policy. */
export const RetryableErrorTypes = {
  vault: 'VaultError',
  aws: 'AwsError',
  postgres: 'PostgresError',
  redis: 'RedisError',
  mariadb: 'MariadbError',
  kubernetes: 'KubernetesError',
  kubernetesConflict: 'KubernetesConflict',
} as const;

/** Failure types of the workflows themselves. */
export const WorkflowErrorTypes = {
  rolledBack: 'RotationRolledBack',
  compensationFailed: 'RotationCompensationFailed',
  aborted: 'RotationAborted',
  invalidPlaybook: 'InvalidPlaybook',
  clusterStepFailed: 'ClusterStepFailed',
  /** A consumer could not be shown to read the version it is about to need, within the gate's timeout. */
  consumerGateFailed: 'ConsumerGateFailed',
  revocationNotEffective: 'RevocationNotEffective',
  policyRefused: 'PolicyRefused',
  storeLocked: 'StoreLocationLocked',
  selfApproval: 'SeparationOfDuties',
  /** The approval gate's `approval.timeout` passed without an approval: the run rolled back. */
  approvalTimedOut: 'ApprovalTimedOut',
  storeLockWithoutRotation: 'StoreLockWithoutRotation',
  /** A run started with `resume` that is not the continuation of a rotation: refused, nothing changed. */
  resumeWithoutRotation: 'ResumeWithoutRotation',
  /** An incident started with no target, a limit below 1 or one secret twice: nothing was started. */
  invalidIncident: 'InvalidIncident',
  /** Under `identity: kubernetes`, an operator action rotor's controller did not vouch for: refused, nothing changed. */
  notFromController: 'NotFromController',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];
export type RetryableErrorType = (typeof RetryableErrorTypes)[keyof typeof RetryableErrorTypes];

/** A non-retryable failure with a stable type; the message must never contain a secret value. */
export function permanent(type: ErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** A retryable failure with a stable type from the catalogue. */
export function retryable(type: RetryableErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.retryable(message, type);
}
