/** Process exit codes of `rotor`, stable for scripts and CI. */
export const ExitCode = {
  /** Rotated, or the command did what it was asked. */
  ok: 0,
  /** Usage or validation error, unreachable service, rejected operator action. */
  usage: 1,
  /** The rotation rolled back or was aborted: the old credential is current again. */
  rolledBack: 2,
  /** A human must look: stuck past the point of no return, or compensation failed. */
  attention: 3,
  /** `rotor doctor` found at least one high-severity problem. */
  findings: 4,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An expected failure: its message is printed as is (no stack) and the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
