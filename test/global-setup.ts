/**
 * Bundles rotor's workflows once per integration run. Every test worker, in process or as a child
 * process, loads this bundle through ROTOR_WORKFLOW_BUNDLE instead of running webpack at its own
 * start, which took 20–90 s per worker on this 2-core machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWorkflowBundle } from '../workers/bundle';

export default async function setup(): Promise<() => void> {
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
