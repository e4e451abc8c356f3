/**
 * The worker as files a bare Node.js runs, without node_modules: esbuild bundles workers/main.ts
 * into one ES module, plus the two modules the Temporal SDK loads by path at run time (the
 * workflow worker thread and rotor's failure converter). The Temporal core bridge's native
 * module is copied as a file where the bundled bridge code looks for it (it cannot be bundled), and
 * so is source-map's WebAssembly.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(join(repoRoot, 'package.json'));

/**
 * The SDK's workflow bundler (webpack, swc and their native modules): the image always runs a
 * prebuilt workflow bundle, so the bundler is replaced by a module that says so if ever called.
 */
const noWorkflowBundler: Plugin = {
  name: 'no-workflow-bundler',
  setup(b) {
    b.onLoad({ filter: /[\\/]@temporalio[\\/]worker[\\/]lib[\\/]workflow[\\/]bundler\.js$/ }, () => ({
      loader: 'js',
      contents: `const refuse = () => { throw new Error('this worker image runs the prebuilt workflow bundle (ROTOR_WORKFLOW_BUNDLE); it cannot bundle workflow code'); };
exports.defaultWorkflowInterceptorModules = [];
exports.bundleWorkflowCode = refuse;
exports.WorkflowCodeBundler = class { constructor() { refuse(); } };`,
    }));
  },
};

/**
 * In an ES module bundle, CommonJS dependencies still call `require` and read `__dirname`: both
 * are defined from the bundle's own URL, so `require.resolve('./workflow-worker-thread')` and the
 * core bridge's `releases/<target>/index.node` resolve beside it.
 */
const esmBanner = [
  "import { createRequire as __rotorCreateRequire } from 'node:module';",
  "import { fileURLToPath as __rotorFileURLToPath } from 'node:url';",
  'const require = __rotorCreateRequire(import.meta.url);',
  'const __filename = __rotorFileURLToPath(import.meta.url);',
  "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
].join('\n');

/** Optional dependencies that are never installed (pg-native) or only used by code the worker does not run. */
const absent = ['pg-native'];

/** Where the core bridge looks for its native module, relative to the bundle (its common.js). */
export const coreBridgeTarget = 'releases/x86_64-unknown-linux-gnu/index.node';

/** The files written into `outDir`; the worker starts with `node <outDir>/worker.mjs`. */
export const bundleFiles = {
  worker: 'worker.mjs',
  workflowThread: 'workflow-worker-thread.js',
  failureConverter: 'failure-converter.cjs',
  coreBridge: coreBridgeTarget,
  /** source-map's WebAssembly, which the SDK uses for workflow stack traces; read from `__dirname`. */
  sourceMapWasm: 'mappings.wasm',
} as const;

/** Bundles the worker into `outDir` (emptied first). Deterministic: the same sources give the same bytes. */
export async function bundleWorker(outDir: string): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node' as const,
    target: 'node24',
    external: absent,
    logLevel: 'error' as const,
    legalComments: 'none' as const,
    absWorkingDir: repoRoot,
  };
  await build({
    ...common,
    entryPoints: [join(repoRoot, 'workers/main.ts')],
    outfile: join(outDir, bundleFiles.worker),
    format: 'esm',
    banner: { js: esmBanner },
    plugins: [noWorkflowBundler],
  });
  await build({
    ...common,
    entryPoints: [require.resolve('@temporalio/worker/lib/workflow/workflow-worker-thread.js')],
    outfile: join(outDir, bundleFiles.workflowThread),
    format: 'cjs',
  });
  await build({
    ...common,
    entryPoints: [join(repoRoot, 'adapters/temporal/failure-converter.ts')],
    outfile: join(outDir, bundleFiles.failureConverter),
    format: 'cjs',
  });
  const fromWorker = createRequire(require.resolve('@temporalio/worker/package.json'));
  copyFileSync(fromWorker.resolve('source-map/lib/mappings.wasm'), join(outDir, bundleFiles.sourceMapWasm));
  const bridge = join(dirname(require.resolve('@temporalio/core-bridge/package.json')), coreBridgeTarget);
  mkdirSync(dirname(join(outDir, coreBridgeTarget)), { recursive: true });
  copyFileSync(bridge, join(outDir, coreBridgeTarget));
}
