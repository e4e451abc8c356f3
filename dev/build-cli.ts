/**
 * `npm run build:cli`: precompiles the CLI (cli/main.ts and what it imports from this repository)
 * into dist/cli with esbuild. cli/rotor.js runs the build while it is at least as new as every
 * source file it was built from (dist/cli/inputs.json), else the TypeScript through tsx: the build
 * saves the transpile at every start (about 0.8 s of CPU for `rotor rotate` on this project's
 * machine), and a stale build is never used.
 *
 * Packages stay in node_modules, except the few small pure-JavaScript ones every command loads
 * (`inlined`): bundled, they are read as one file instead of about 170 (zod alone is 95 modules),
 * which is most of what `rotor validate` costs beyond Node's own start.
 */
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Packages bundled into dist/cli: small, pure JavaScript, and loaded by `--help`, `validate` or `status`. */
export const inlined = ['commander', 'zod', 'yaml'];

/** Every other package stays external, imported from node_modules at run time (and only by the commands that use it). */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const pkg = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return inlined.includes(pkg ?? '') ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * zod's `locales` export holds every language's error messages (366 KB of the 760 KB zod chunk) and
 * `zod` re-exports it as a namespace, so esbuild cannot drop it. rotor never selects a locale: zod
 * configures English itself, so the bundle keeps that one only.
 */
const englishZodOnly: Plugin = {
  name: 'english-zod-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * commander requires `node:child_process` at load for executable subcommands, which rotor has none
 * of; loading it also loads net and dgram, about half a bare Node start. The bundle gives commander
 * a stand-in that loads the real module on its first use.
 */
const lazyChildProcess: Plugin = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer) ? { path: 'lazy-child-process', namespace: 'rotor' } : undefined,
    );
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'rotor' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });\n",
      loader: 'js',
    }));
  },
};

/** Builds the CLI into `outdir` (dist/cli by default); returns esbuild's metafile. */
export async function buildCli(outdir = `${root}dist/cli`): Promise<Metafile> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    bundle: true,
    // Lazily loaded commands stay separate chunks: `rotor validate` does not load the Temporal client.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    plugins: [englishZodOnly, lazyChildProcess, externalPackages],
    // commander and yaml are CommonJS: their require() of Node's own modules needs a real require.
    banner: {
      js: "import { createRequire as __rotorRequire } from 'node:module'; const require = __rotorRequire(import.meta.url);",
    },
    outdir,
    metafile: true,
    logLevel: 'warning',
  });
  // The lock file too: an upgrade of an inlined package makes the build stale.
  const inputs = [
    ...Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/') && !f.startsWith('rotor:')),
    'package-lock.json',
  ];
  writeFileSync(`${outdir}/inputs.json`, `${JSON.stringify(inputs)}\n`);
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metafile = await buildCli();
  const sources = Object.keys(metafile.inputs).filter(
    (f) => !f.includes('node_modules/') && !f.startsWith('rotor:'),
  ).length;
  process.stdout.write(`built dist/cli from ${sources} source files\n`);
}
