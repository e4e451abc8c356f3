/**
 * Runs the CLI as `npm run build:cli` builds it (the tests that check what the built CLI loads,
 * prints and caches); never throws on an exit code.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

/** What one run of the built CLI did. */
export interface BuiltCliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `<buildDir>/cli/main.cjs` with `args` from the repository root, under this Node with
 * `nodeArgs` before the script; `env` is the whole environment the CLI gets.
 */
export function runBuiltCli(
  buildDir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: readonly string[] = [],
): Promise<BuiltCliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgs, join(buildDir, 'cli/main.cjs'), ...args],
      { cwd: root, env, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
