/**
 * One workflow bundle for the whole run. `npm test` builds it before vitest starts (beside the
 * typecheck and lint) and passes it in `ROTOR_WORKFLOW_BUNDLE`; a bare `vitest run` builds it here,
 * once, and the other projects' setups reuse it. Every test worker, in process or as a child
 * process, loads it instead of running webpack at its own start (20–90 s per worker on 2 cores).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWorkflowBundle } from '../workers/bundle';

export default async function setup(): Promise<() => void> {
  const given = process.env['ROTOR_WORKFLOW_BUNDLE'];
  if (given && existsSync(given)) return () => undefined;
  const dir = mkdtempSync(join(tmpdir(), 'rotor-workflows-'));
  const file = join(dir, 'workflows.js');
  const started = performance.now();
  await writeWorkflowBundle(file);
  console.log(
    `workflow bundle built once for all test workers in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  // Test files run in child processes forked after this, so they inherit the variable.
  process.env['ROTOR_WORKFLOW_BUNDLE'] = file;
  return () => rmSync(dir, { recursive: true, force: true });
}
