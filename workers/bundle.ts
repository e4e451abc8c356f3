/**
 * rotor's workflow code bundled once, ahead of the workers that run it. A worker otherwise bundles
 * the workflows itself at start (webpack: seconds to a minute on a busy machine); Temporal
 * recommends prebuilt bundles for production, and the test suite shares one across its workers.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { failureConverterPath } from '../adapters/temporal/data-converter';

/** rotor's workflows, bundled from source. */
export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * The workflow interceptors every bundle of rotor's workflows includes: they refuse what the
 * worker's codec refused (unencrypted starts, signals, updates, queries, activity results).
 */
export const workflowInterceptorModules = [fileURLToPath(new URL('../workflows/interceptors.ts', import.meta.url))];

/**
 * Bundles the workflows (`entry`: rotor's, or a module re-exporting them, as a test's next build
 * does) with the failure converter the workers use, and writes the code to `outFile`.
 */
export async function writeWorkflowBundle(outFile: string, entry: string = workflowsPath): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: entry,
    workflowInterceptorModules,
    failureConverterPath,
    // webpack's progress lines are noise in worker and test output; warnings still show.
    logger: new DefaultLogger('WARN'),
  });
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
}

/**
 * The prebuilt bundle a worker should load: `ROTOR_WORKFLOW_BUNDLE` when set, else none (bundle from
 * source). A set path that does not exist is an error, not a silent rebuild.
 */
export function workflowBundleFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env['ROTOR_WORKFLOW_BUNDLE'];
  if (!path) return undefined;
  if (!existsSync(path)) {
    throw new Error(
      `ROTOR_WORKFLOW_BUNDLE=${path} does not exist: build it with \`npm run build:workflows -- ${path}\` or unset the variable to bundle at start`,
    );
  }
  return path;
}
