'use strict';
// How the built CLI runs its bundles (`npm run build:cli` copies this file to dist/cli/load.cjs).
// The build makes three CommonJS bundles: the whole CLI (bundle-<hash>.cjs), the same without the
// command bodies for `rotor`, `rotor --help` and `rotor help …` (help-<hash>.cjs, a tenth of the
// size), and the Temporal packages the CLI uses with gRPC and protobufjs (temporal-<hash>.cjs,
// loaded by dist/cli/temporal.cjs on a command's first Temporal import). dist/cli/main.cjs picks
// the first or the second.
//
// Each runs through a V8 code cache of its own, one a command
// (dist/cli/code-cache/<bundle>/<command>.bin), written when the command's first run exits. Node's
// compile cache (module.enableCompileCache) keeps only what V8 compiled before the code ran, the
// top level of each file; V8 compiles a function when it is first called, and that is most of what
// `rotor validate` costs (zod's and yaml's functions) and of loading the Temporal client. A cache
// written after the run holds them too. V8 checks a cache against its source by length only: a
// bundle's name carries its content hash, and each bundle has its own cache directory, so a cache
// never meets another build's code.
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script, constants } = require('node:vm');

// `rotor validate …` → validate, `rotor` and `rotor --help` → help: each compiles different code.
const first = (process.argv[2] ?? 'help').replace(/^-+/, '');
const command = /^[a-z][a-z-]{0,40}$/.test(first) ? (first === 'h' ? 'help' : first) : 'other';

/** Runs dist/cli/`bundleName` through its code cache for this command; returns what it exports. */
function runBundle(bundleName) {
  const bundle = join(__dirname, bundleName);
  const cacheDir = join(__dirname, 'code-cache', bundleName);
  const cacheFile = join(cacheDir, `${command}.bin`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // the command's first run
  }
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`,
    { filename: bundle, cachedData, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER },
  );
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        mkdirSync(cacheDir, { recursive: true });
        const partial = `${cacheFile}.${process.pid}`;
        writeFileSync(partial, script.createCachedData());
        renameSync(partial, cacheFile); // whole or not at all, when two runs write at once
      } catch {
        // A read-only install runs without the cache.
      }
    });
  }
  const bundleModule = { exports: {} };
  script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, __dirname);
  return bundleModule.exports;
}

module.exports = { command, runBundle };
