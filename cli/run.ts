import type { ExitCode } from './exit-codes';

/**
 * Wraps a command body for commander: its exit code becomes the process's. Errors propagate to
 * main, which prints them; the exit code is set rather than calling exit so output is flushed.
 */
export function runAction<A extends unknown[]>(body: (...args: A) => Promise<ExitCode>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.exitCode = await body(...args);
  };
}

/**
 * A command body loaded only when the command runs (cli/actions/): the definitions in
 * cli/commands/ stay free of the Temporal, Kubernetes and AWS clients, so `rotor --help` and
 * `rotor validate` never load them.
 */
export function lazyAction<A extends unknown[]>(
  load: () => Promise<(...args: A) => Promise<ExitCode>>,
): (...args: A) => Promise<void> {
  return runAction(async (...args: A) => (await load())(...args));
}
