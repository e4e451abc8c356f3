/**
 * rotor's worker image, built without a Docker daemon or a registry: Node.js 24 (the binary the
 * `node` npm package brought) with the shared libraries it and the Temporal core bridge load, the
 * esbuild bundle of the worker (dev/image/worker-bundle.ts) and the prebuilt workflow bundle. It
 * runs as uid 65532 with no shell, and writes nothing to its root file system. The archive is
 * reproducible (dev/image/oci-archive.ts) and cached under the stack's cache directory by a hash
 * of every input, so an unchanged checkout gets the same file and digest back in seconds.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleBuildId } from '../../workers/versioning';
import { writeWorkflowBundle } from '../../workers/bundle';
import { sharedLibraries, writeOciArchive } from './oci-archive';
import type { ImageProcess } from './oci-archive';
import { bundleFiles, bundleWorker } from './worker-bundle';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(join(repoRoot, 'package.json'));

/** The image's repository; the tag is the first 12 hex digits of the input hash. */
export const workerImageRepository = 'rotor.local/worker';
/** The user the worker runs as (distroless' `nonroot`): no name on the host, never root. */
export const workerUid = 65532;
/** Where the image keeps the worker's files, and its prebuilt workflow bundle. */
export const appDir = '/app';
const workflowBundle = `${appDir}/workflows.js`;

/** What a build produced; `image.json` beside the archive records it. */
export interface WorkerImage {
  /** The OCI archive (`ctr images import`, `docker load`, `crane push`). */
  file: string;
  /** `rotor.local/worker:<tag>`. */
  ref: string;
  /** The manifest digest: the same inputs always give the same one. */
  digest: string;
  /** The Worker Versioning build id the worker derives from its workflow bundle. */
  buildId: string;
  /** The archive's size in bytes. */
  size: number;
  /** True when the archive came from the cache. */
  cached: boolean;
}

/** The Node.js binary `npm install` brought (package.json pins `node`). */
export function nodeBinary(): string {
  const pkg = dirname(require.resolve('node/package.json'));
  const bin = join(pkg, 'bin', 'node');
  if (!existsSync(bin)) throw new Error(`no Node.js binary at ${bin}: run 'npm ci' first`);
  return bin;
}

/** The worker's source files: every module outside tests in the directories the worker imports from. */
function sourceFiles(): string[] {
  const dirs = ['core', 'adapters', 'inspect', 'activities', 'workflows', 'workers', 'dev/image'];
  const walk = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
      .filter((f) => /\.(ts|js|json)$/.test(f) && !/\.test\.ts$/.test(f));
  return [...dirs.flatMap(walk), 'package.json', 'package-lock.json'].sort();
}

/** The runtime's files: the Node.js binary, the core bridge and their shared libraries. */
async function runtimeFiles(): Promise<{ node: string; libs: string[] }> {
  const node = nodeBinary();
  const bridge = join(dirname(require.resolve('@temporalio/core-bridge/package.json')), bundleFiles.coreBridge);
  const libs = [...new Set([...(await sharedLibraries(node)), ...(await sharedLibraries(bridge))])].sort();
  return { node, libs };
}

/** The hash of everything that goes into the image: sources, lock file, Node.js, libraries. */
function inputHash(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(readFileSync(f.startsWith('/') ? f : join(repoRoot, f)));
  return h.digest('hex');
}

/** Gives every staged file and directory the same modes whatever the umask: world-readable, root-owned in the tar. */
async function normaliseModes(dir: string): Promise<void> {
  await run('chmod', ['-R', 'u=rwX,go=rX', dir]);
}

/** The runtime layer: Node.js, its libraries, a passwd naming the worker's user, and /tmp. */
async function stageRuntime(dir: string, rt: { node: string; libs: string[] }): Promise<void> {
  for (const d of ['usr/local/bin', 'etc', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(rt.node, join(dir, 'usr/local/bin/node'));
  for (const lib of rt.libs) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(dir, lib));
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    `root:x:0:0:root:/nonexistent:/sbin/nologin\nnonroot:x:${workerUid}:${workerUid}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(join(dir, 'etc/group'), `root:x:0:\nnonroot:x:${workerUid}:\n`);
  await normaliseModes(dir);
  chmodSync(join(dir, 'usr/local/bin/node'), 0o755);
  chmodSync(join(dir, 'tmp'), 0o1777);
}

/** The application layer: the worker bundle, the core bridge and the workflow bundle under /app. */
async function stageApp(dir: string, workflows: string | undefined): Promise<string> {
  const app = join(dir, appDir.slice(1));
  await bundleWorker(app);
  await writeWorkflowBundle(join(dir, workflowBundle.slice(1)), workflows);
  await normaliseModes(dir);
  return bundleBuildId(join(dir, workflowBundle.slice(1)));
}

const imageProcess = (buildId: string, hash: string): ImageProcess => ({
  User: `${workerUid}:${workerUid}`,
  WorkingDir: appDir,
  Entrypoint: ['/usr/local/bin/node', `${appDir}/${bundleFiles.worker}`],
  Env: [
    'PATH=/usr/local/bin',
    'NODE_ENV=production',
    `ROTOR_WORKFLOW_BUNDLE=${workflowBundle}`,
    // Logs go to stderr and the audit trail to stdout: nothing is written to the root file system.
  ],
  Labels: {
    'org.opencontainers.image.title': 'rotor worker',
    'org.opencontainers.image.source': 'https://github.com/rotor/rotor',
    'org.opencontainers.image.revision': hash,
    'dev.rotor.build-id': buildId,
  },
});

/** Archives kept besides the newest: each source change makes a new one of about 180 MiB. */
const keptImages = 2;

/** Removes all but the newest `keptImages` other worker archives from the cache (never `current`). */
function pruneOldImages(imagesDir: string, current: string): void {
  const others = readdirSync(imagesDir)
    .filter((d) => d.startsWith('worker-') && !d.includes('.work') && join(imagesDir, d) !== current)
    .map((d) => ({ dir: join(imagesDir, d), at: statSync(join(imagesDir, d)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of others.slice(keptImages)) rmSync(old.dir, { recursive: true, force: true });
}

/**
 * Builds the worker image archive under `<cacheDir>/images/worker-<hash>/`, or returns the cached
 * one when every input is unchanged. `log` receives progress lines. `workflows` bundles another
 * workflow entry module instead of rotor's (one that re-exports them with a change: the next build
 * of an upgrade test); it is part of the hash, so that image has a tag and digest of its own.
 */
export async function buildWorkerImage(
  cacheDir: string,
  log: (line: string) => void = () => undefined,
  workflows?: string,
): Promise<WorkerImage> {
  const rt = await runtimeFiles();
  const hash = inputHash([...sourceFiles(), ...(workflows ? [workflows] : []), rt.node, ...rt.libs]);
  const dir = join(cacheDir, 'images', `worker-${hash.slice(0, 16)}`);
  const recordFile = join(dir, 'image.json');
  if (existsSync(recordFile)) {
    return { ...(JSON.parse(readFileSync(recordFile, 'utf8')) as Omit<WorkerImage, 'cached'>), cached: true };
  }
  log(`building the worker image into ${dir}`);
  // A directory of this build's own: two processes may build the same image at once (the image's
  // unit and integration tests do), and one must not empty the other's work.
  const work = `${dir}.work-${process.pid}-${randomBytes(4).toString('hex')}`;
  const runtime = join(work, 'runtime');
  const app = join(work, 'app');
  await stageRuntime(runtime, rt);
  const buildId = await stageApp(app, workflows);
  const ref = `${workerImageRepository}:${hash.slice(0, 12)}`;
  const file = join(work, 'out', 'worker.tar');
  const archive = await writeOciArchive(
    [{ ref, layers: [runtime, app], process: imageProcess(buildId, hash) }],
    file,
    work,
  );
  const digest = archive.digests[ref] ?? '';
  mkdirSync(dir, { recursive: true });
  renameSync(file, join(dir, 'worker.tar'));
  const image = { file: join(dir, 'worker.tar'), ref, digest, buildId, size: statSync(join(dir, 'worker.tar')).size };
  // The same inputs give the same bytes, so a concurrent build's rename of the archive is harmless;
  // the record is written beside and renamed, so a reader never sees half of it.
  writeFileSync(`${recordFile}.${process.pid}`, `${JSON.stringify(image, null, 2)}\n`);
  renameSync(`${recordFile}.${process.pid}`, recordFile);
  rmSync(work, { recursive: true, force: true });
  pruneOldImages(join(cacheDir, 'images'), dir);
  log(`worker image ${ref} ${digest} (${(image.size / 2 ** 20).toFixed(0)} MiB)`);
  return { ...image, cached: false };
}
