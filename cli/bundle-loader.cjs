'use strict';
// The entry of the built CLI: `npm run build:cli` copies this file to dist/cli/main.cjs, with the
// names of the two bundles it made in place of BUNDLE_NAME and HELP_BUNDLE_NAME: the whole CLI as
// one CommonJS file (dist/cli/bundle-<hash>.cjs), and the same without the command bodies for
// `rotor`, `rotor --help` and `rotor help …` (help-<hash>.cjs, a tenth of the size). It runs the
// bundle through a V8 code cache of its own, one a command
// (dist/cli/code-cache/<bundle>/<command>.bin), written when the command's first run exits. Node's
// compile cache (module.enableCompileCache) keeps only what V8 compiled before the code ran, the
// top level of each file; V8 compiles a function when it is first called, and that is most of what
// `rotor validate` costs: zod's and yaml's functions. A cache written after the run holds them too.
// V8 checks a cache against its source by length only: the bundle's name carries its content hash,
// and each bundle has its own cache directory, so a cache never meets another build's code.
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script, constants } = require('node:vm');

// `rotor validate …` → validate, `rotor --help` → help: each command's run compiles different code.
const first = (process.argv[2] ?? 'help').replace(/^-+/, '');
const command = /^[a-z][a-z-]{0,40}$/.test(first) ? first : 'other';
const bundleName = command === 'help' || command === 'h' ? 'HELP_BUNDLE_NAME' : 'BUNDLE_NAME';
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
