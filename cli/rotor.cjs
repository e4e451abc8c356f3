#!/usr/bin/env node
'use strict';
// The `rotor` bin. The CLI is TypeScript: it runs from dist/cli (`npm run build:cli`; its entry,
// dist/cli/main.cjs, runs the bundles through cli/bundle-loader.cjs) when that build is at least as
// new as every source file it was made from, else through tsx's loader in this same process, so a
// checkout or `npm link` works without a build step and never runs stale code. CommonJS: the built
// CLI then never starts Node's ES module loader, about a tenth of `rotor --help`.
const { readFileSync, statSync } = require('node:fs');
const module_ = require('node:module');
const { join } = require('node:path');

// V8's compiled code kept on disk between runs (Node's compile cache, in the system temp directory
// unless NODE_COMPILE_CACHE names one) for this file and the packages the CLI loads from
// node_modules; the bundles have a code cache of their own (cli/bundle-loader.cjs).
module_.enableCompileCache?.();

const root = join(__dirname, '..');
const built = join(root, 'dist/cli/main.cjs');

function buildIsFresh() {
  try {
    const builtAt = statSync(built).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(root, 'dist/cli/inputs.json'), 'utf8'));
    return inputs.every((file) => statSync(join(root, file)).mtimeMs <= builtAt);
  } catch {
    return false; // no build, or a source file it was made from is gone
  }
}

if (buildIsFresh()) {
  require(built);
} else {
  // A failure here is an unhandled rejection: Node prints it and exits 1.
  void import('tsx/esm/api').then(({ register }) => {
    register();
    return import('./main.ts');
  });
}
