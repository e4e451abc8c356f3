/**
 * How tests start rotor's own processes, as operators run them. `npm test` (dev/test.ts) builds, once
 * per run, the worker as the image ships it (dev/image/worker-bundle.ts, named in
 * ROTOR_TEST_WORKER_BUNDLE) and the CLI's dist/cli; a bare `vitest run` starts the worker's
 * TypeScript through tsx. The CLI always runs through its bin, cli/rotor.cjs, which runs dist/cli
 * while it is fresh and the TypeScript through tsx otherwise. Through tsx a worker took 6 s of CPU to
 * start on the 2-core machine, the bundle 2 s; a CLI command 0.65 s against about 0.2 s.
 */
import { fileURLToPath } from 'node:url';

/** The checkout's root: where every entry point's relative paths resolve. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Node's arguments that start a worker (`workers/main.ts`, or its bundle). */
export function workerArgs(): string[] {
  const bundle = process.env['ROTOR_TEST_WORKER_BUNDLE'];
  return bundle ? [bundle] : ['--import', 'tsx', 'workers/main.ts'];
}

/** Node's arguments that run `rotor …` through its bin. */
export function cliArgs(args: readonly string[]): string[] {
  return ['cli/rotor.cjs', ...args];
}
