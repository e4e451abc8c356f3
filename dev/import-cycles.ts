/**
 * Import cycles, type-only imports included: ESLint's `import-x/no-cycle` skips `import type`, so
 * `npm test` (and `npm run lint:cycles`) also runs dpdm over every source folder. Exit 1 names
 * each cycle.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Every folder of rotor's own code, tests and dev tools; the runner's fixtures are not code. */
export const sourceGlobs = [
  '{core,adapters,inspect,activities,workflows,workers,cli,dev,playbooks}/**/*.ts',
  'test/{helpers,integration,workflow,replay,histories,bench}/**/*.ts',
  'test/*.ts',
];

/** Runs dpdm on `globs`; `ok` is false when it found a cycle (or could not run). */
export function findCycles(globs: readonly string[]): { ok: boolean; output: string } {
  const r = spawnSync(
    'npx',
    ['dpdm', '--no-tree', '--no-warning', '--no-progress', '--transform=false', '--exit-code', 'circular:1', ...globs],
    { encoding: 'utf8' },
  );
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { ok, output } = findCycles(sourceGlobs);
  process.stdout.write(output);
  process.exit(ok ? 0 : 1);
}
