/**
 * `npm run build:image`: builds rotor's worker image as an OCI archive (cached by input hash under
 * the stack's cache directory) and prints what to load it with. `--json` prints the record instead.
 */
import { stackPaths } from '../local-stack/config';
import { buildWorkerImage } from './worker-image';

const started = performance.now();
const image = await buildWorkerImage(stackPaths().cacheDir, (line) => process.stderr.write(`[image] ${line}\n`));
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ ...image, seconds: Number(seconds) }, null, 2)}\n`);
} else {
  process.stdout.write(
    `${image.ref}\n  digest   ${image.digest}\n  build id ${image.buildId}\n  archive  ${image.file} (${(image.size / 2 ** 20).toFixed(1)} MiB, ${image.cached ? 'cached' : 'built'} in ${seconds} s)\n` +
      `  load it: ctr -n k8s.io images import ${image.file}   |   docker load -i ${image.file}\n`,
  );
}
