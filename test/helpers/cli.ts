import { execFile } from 'node:child_process';
import { cliArgs, repoRoot } from './entry-points';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `rotor …` as a subprocess with `env`; resolves with its exit code and output, never throws on exit codes. */
export function runRotor(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  return runRotorWithin(120_000, env, ...args);
}

/** {@link runRotor}, killed after `timeoutMs` (for commands that wait on a rotation). */
export function runRotorWithin(timeoutMs: number, env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, cliArgs(args), { env, timeout: timeoutMs, cwd: repoRoot }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}
