/**
 * `npm run build:cli`: precompiles the CLI (cli/main.ts and what it imports from this repository)
 * into dist/cli with esbuild, packages left to node_modules. cli/rotor.js runs the build while it
 * is at least as new as every source file it was built from (dist/cli/inputs.json), else the
 * TypeScript through tsx: the build saves the transpile at every start (about 0.8 s of CPU for
 * `rotor rotate` on this project's machine), and a stale build is never used.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = `${root}dist/cli`;

const result = await build({
  absWorkingDir: root,
  entryPoints: ['cli/main.ts'],
  bundle: true,
  // Lazily loaded commands stay separate chunks: `rotor validate` does not load the Temporal client.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir,
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
writeFileSync(`${outdir}/inputs.json`, `${JSON.stringify(inputs)}\n`);
process.stdout.write(`built dist/cli from ${inputs.length} source files\n`);
