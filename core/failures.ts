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
  /**
   * A backend refused the call for its rate (Vault's 429, AWS `ThrottlingException`): retried by the
   * workflow after the backend's delay without using an attempt of the step (workflows/activity-calls.ts).
   */
  throttled: 'BackendThrottled',
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

/** What a {@link throttled} failure carries for the workflow: the backend's wait, if it named one, and a jitter. */
export interface ThrottleDetails {
  retryAfterMs?: number;
  /**
   * 0–1, drawn where the call failed: the workflow lengthens its wait by up to half with it, so
   * steps throttled together do not come back together (the workflow itself draws no randomness).
   */
  jitter: number;
}

/**
 * A backend throttled the call: retryable, with `nextRetryDelay` (and the detail the workflow
 * reads) set to the backend's `Retry-After` when it sent one, else the caller's back-off applies.
 * The message must say "throttled" so an incident recognises it (core/incident/throttling.ts).
 */
export function throttled(message: string, retryAfterMs?: number, jitter = Math.random()): ApplicationFailure {
  const details: ThrottleDetails[] = [{ ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), jitter }];
  return ApplicationFailure.create({
    type: RetryableErrorTypes.throttled,
    message,
    nonRetryable: false,
    details,
    ...(retryAfterMs !== undefined ? { nextRetryDelay: retryAfterMs } : {}),
  });
}

/**
 * A `Retry-After` header's wait in ms: delta-seconds or an HTTP date (against `now`); undefined
 * when absent or unreadable. Capped at 5 minutes: a backend's hint must not park a rotation for hours.
 */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = /^\s*(\d+)\s*$/.exec(header)?.[1];
  const ms = seconds !== undefined ? Number(seconds) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 300_000) : undefined;
}

/** A retryable failure with a stable type from the catalogue. */
export function retryable(type: RetryableErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.retryable(message, type);
}
