/**
 * `npm run build:cli`: precompiles the CLI (cli/main.ts and what it imports from this repository)
 * into dist/cli with esbuild. cli/rotor.cjs runs the build while it is at least as new as every
 * source file it was built from (dist/cli/inputs.json), else the TypeScript through tsx: the build
 * saves the transpile at every start (about 0.8 s of CPU for `rotor rotate` on this project's
 * machine), and a stale build is never used.
 *
 * Three CommonJS bundles, each run through a V8 code cache made after a command's first run
 * (cli/bundle-loader.cjs, which says why): the whole CLI with the small pure-JavaScript packages
 * every command loads (`inlined`: commander, zod, yaml); the same without the command bodies, for
 * `--help`; and the `@temporalio/*` packages the CLI imports, with gRPC and protobufjs, which
 * dist/cli/temporal.cjs loads on a command's first Temporal import. Every other package (the AWS
 * SDK, the Kubernetes client) stays in node_modules, loaded only by the commands that use it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * Packages bundled into dist/cli: small, pure JavaScript, and loaded by `--help`, `validate` or
 * `status`; and p-limit (with yocto-queue), an ES-module-only package the CLI imports by default
 * export, which a CommonJS bundle cannot take from node_modules (`require` gives its namespace, so
 * `pLimit` was not a function and `rotor incident start --readable-by` failed in the built CLI).
 */
export const inlined = ['commander', 'zod', 'yaml', 'p-limit', 'yocto-queue'];

/** Every other package but the Temporal ones stays external, required from node_modules at run time (and only by the commands that use it). */
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

/**
 * The help bundle's stand-in for every command body (cli/actions/): `rotor`, `rotor --help` and
 * `rotor help <command>` run none, and without them the bundle is a tenth of the size, which is
 * what its code cache costs to read.
 */
const noCommandBodies: Plugin = {
  name: 'no-command-bodies',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/actions\// }, (args) =>
      /[\\/]cli[\\/]commands[\\/]/.test(args.importer) ? { path: args.path, namespace: 'rotor-help' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'rotor-help' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`rotor: the help bundle holds no command body (${args.path}); run npm run build:cli again`)});\n`,
      loader: 'js',
    }));
  },
};

/**
 * The bundles are CommonJS: cli/bundle-loader.cjs runs them as scripts through a V8 code cache
 * written after the run, which ES modules cannot be given. `import.meta.url` becomes the bundle's
 * own file URL.
 */
const importMetaUrl = '__rotorImportMetaUrl';

/**
 * The CLI's `@temporalio/*` imports, each answered by dist/cli/temporal.cjs, the Temporal bundle
 * (one copy of each package, so an error class the client throws is the one the CLI checks for).
 * `specifiers` collects what the CLI imports, for that bundle's entry.
 */
function temporalFromItsBundle(specifiers: Set<string>): Plugin {
  return {
    name: 'temporal-from-its-bundle',
    setup(b) {
      b.onResolve({ filter: /^@temporalio\// }, (args) => {
        specifiers.add(args.path);
        return { path: args.path, namespace: 'rotor-temporal' };
      });
      b.onResolve({ filter: /^\.\/temporal\.cjs$/ }, (args) =>
        args.namespace === 'rotor-temporal' ? { path: args.path, external: true } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'rotor-temporal' }, (args) => ({
        contents: `module.exports = require('./temporal.cjs')(${JSON.stringify(args.path)});\n`,
        loader: 'js',
      }));
    },
  };
}

/** An entry point whose source is `contents`, its imports resolved from the repository's root. */
const virtualEntry = (contents: string): Plugin => ({
  name: 'virtual-entry',
  setup(b) {
    b.onResolve({ filter: /^rotor-entry$/ }, () => ({ path: 'rotor-entry', namespace: 'rotor-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'rotor-entry' }, () => ({ contents, loader: 'js', resolveDir: root }));
  },
});

/** Bundles `entry` as `outdir`/`name`-<content hash>.cjs; returns esbuild's metafile and the file's name. */
async function bundle(
  outdir: string,
  name: string,
  entry: { file: string } | { contents: string },
  plugins: Plugin[],
): Promise<{ metafile: Metafile; file: string }> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [name]: 'file' in entry ? entry.file : 'rotor-entry' },
    // The name carries the content hash: cli/bundle-loader.cjs keys its code cache on it.
    entryNames: '[name]-[hash]',
    outExtension: { '.js': '.cjs' },
    bundle: true,
    // One file: a command's body is still evaluated only when the command runs (esbuild wraps each
    // dynamically imported module in an initializer), so `rotor validate` never loads the Temporal client.
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: 'file' in entry ? plugins : [virtualEntry(entry.contents), ...plugins],
    define: { 'import.meta.url': importMetaUrl },
    banner: { js: `var ${importMetaUrl} = require('node:url').pathToFileURL(__filename).href;` },
    outdir,
    metafile: true,
    logLevel: 'warning',
  });
  const file = Object.keys(result.metafile.outputs).find((f) => f.endsWith('.cjs'));
  if (!file) throw new Error(`esbuild wrote no ${name} bundle`);
  return { metafile: result.metafile, file: basename(file) };
}

/** Builds the CLI into `outdir` (dist/cli by default); returns esbuild's metafile of the whole CLI. */
export async function buildCli(outdir = `${root}dist/cli`): Promise<Metafile> {
  // Old bundles and their code caches go: a cache is only ever read beside the bundle it was made from.
  rmSync(outdir, { recursive: true, force: true });
  const temporal = new Set<string>();
  const common = [englishZodOnly, lazyChildProcess, temporalFromItsBundle(temporal), externalPackages];
  const [whole, help] = await Promise.all([
    bundle(outdir, 'bundle', { file: 'cli/main.ts' }, common),
    bundle(outdir, 'help', { file: 'cli/main.ts' }, [noCommandBodies, ...common]),
  ]);
  const packages = [...temporal].sort().map((s) => `  ${JSON.stringify(s)}: () => require(${JSON.stringify(s)}),`);
  const temporalBundle = await bundle(
    outdir,
    'temporal',
    {
      contents: `const packages = {\n${packages.join('\n')}\n};\nmodule.exports = (name) => packages[name]();\n`,
    },
    [],
  );
  writeFileSync(`${outdir}/load.cjs`, readFileSync(`${root}cli/bundle-loader.cjs`));
  const stub = (what: string, body: string) =>
    `'use strict';\n// ${what} (written by dev/build-cli.ts; see load.cjs).\nconst { command, runBundle } = require('./load.cjs');\n${body}\n`;
  writeFileSync(
    `${outdir}/main.cjs`,
    stub(
      "The built CLI's entry",
      `runBundle(command === 'help' ? ${JSON.stringify(help.file)} : ${JSON.stringify(whole.file)});`,
    ),
  );
  writeFileSync(
    `${outdir}/temporal.cjs`,
    stub('The Temporal packages the CLI uses', `module.exports = runBundle(${JSON.stringify(temporalBundle.file)});`),
  );
  // The lock file too: an upgrade of an inlined package makes the build stale.
  const inputs = [
    ...Object.keys(whole.metafile.inputs).filter((f) => !f.includes('node_modules/') && !f.startsWith('rotor')),
    'cli/bundle-loader.cjs',
    'package-lock.json',
  ];
  writeFileSync(`${outdir}/inputs.json`, `${JSON.stringify(inputs)}\n`);
  return whole.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metafile = await buildCli();
  const sources = Object.keys(metafile.inputs).filter(
    (f) => !f.includes('node_modules/') && !f.startsWith('rotor'),
  ).length;
  process.stdout.write(`built dist/cli from ${sources} source files\n`);
}
