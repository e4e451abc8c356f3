#!/usr/bin/env node
// The `rotor` bin. The CLI is TypeScript: it runs from dist/cli (`npm run build:cli`; its entry,
// dist/cli/main.cjs, is cli/bundle-loader.cjs) when that build is at least as new as every source
// file it was made from, else through tsx's loader in this same process, so a checkout or
// `npm link` works without a build step and never runs stale code.
import { readFileSync, statSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's compiled code kept on disk between runs (Node's compile cache, in the system temp directory
// unless NODE_COMPILE_CACHE names one) for this file and the packages the CLI loads from
// node_modules; the bundle has a code cache of its own (cli/bundle-loader.cjs).
module.enableCompileCache?.();

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/main.cjs', root);

function buildIsFresh() {
  try {
    const builtAt = statSync(built).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', root), 'utf8'));
    return inputs.every((file) => statSync(new URL(file, root)).mtimeMs <= builtAt);
  } catch {
    return false; // no build, or a source file it was made from is gone
  }
}

if (buildIsFresh()) {
  module.createRequire(import.meta.url)(fileURLToPath(built));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
