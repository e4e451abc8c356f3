#!/usr/bin/env node
// The `rotor` bin. The CLI is TypeScript: it runs from dist/cli (`npm run build:cli`) when that
// build is at least as new as every source file it was made from, else through tsx's loader in
// this same process, so a checkout or `npm link` works without a build step and never runs stale code.
import { readFileSync, statSync } from 'node:fs';
import module from 'node:module';

// V8's compiled code kept on disk between runs (Node's compile cache, in the system temp directory
// unless NODE_COMPILE_CACHE names one): a warm `rotor --help` then parses nothing again.
module.enableCompileCache?.();

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/main.js', root);

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
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
