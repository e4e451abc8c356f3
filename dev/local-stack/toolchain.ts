import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import type { StackContext } from './service';

/** Absolute path of `command` on PATH, or undefined. */
export function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Throws a message saying what to install when a toolchain command is missing. */
export function requireTool(command: string, howToInstall: string): string {
  const found = which(command);
  if (!found) throw new Error(`'${command}' is not installed or not on PATH: ${howToInstall}`);
  return found;
}

/**
 * A binary on PATH whose `--version`-style output contains `version` is used as is; the stack
 * builds its own copy otherwise.
 */
export function onPathAtVersion(command: string, versionArgs: string[], version: string): string | undefined {
  const found = which(command);
  if (!found) return undefined;
  try {
    const out = execFileSync(found, versionArgs, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
    return out.includes(version.replace(/^v/, '')) ? found : undefined;
  } catch {
    return undefined;
  }
}

function output(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${stderr.slice(-4000)}`));
      else resolve(stdout);
    });
  });
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${stderr.slice(-4000)}`));
      else resolve();
    });
  });
}

export interface GoBuild {
  /** Binary name, e.g. `vault`. */
  name: string;
  version: string;
  /** Wrapper module directory in the repo (holding go.mod/go.sum), e.g. dev/go/vault. */
  moduleDir?: string;
  /** Package to build: a path inside the wrapper module's dependencies, e.g. github.com/hashicorp/vault. */
  pkg: string;
  /** Extra `go build` flags such as -tags or -ldflags. */
  flags?: string[];
  /**
   * Files of one dependency to replace before building (Go's -overlay refuses files in the module
   * cache): the module is copied next to the binary, the files written over it, and the wrapper
   * module built with a `replace` to that copy. Needs `moduleDir`.
   */
  patch?: { module: string; version: string; files: Record<string, PatchedFile> };
}

/**
 * A patched file's content: given whole (a file of rotor's own), or as an edit of the module's
 * original, so no upstream code is copied into the repository. An edit must change the file; one
 * that no longer matches a new release fails the build rather than building it unpatched.
 */
export type PatchedFile = string | PatchEdit;

/** An edit of a module's original file, declared as a top-level `export function` of a rotor module. */
export interface PatchEdit {
  edit: (original: string) => string;
  /**
   * `import.meta.url` of the module declaring `edit`. The cache key takes the function's text as
   * written there, not `String(edit)`: compiled text differs between tsx (the stack) and vitest (a
   * test starting a private server), which once keyed one binary two ways, and a cold CI run
   * rebuilt Temporal inside a test.
   */
  declaredIn: string;
}

/**
 * The text of `export function <name>(` … the first `}` at the start of a line after it, as written
 * in `file` (a path or file: URL).
 */
export function declarationText(file: string, name: string): string {
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(`\nexport function ${name}(`);
  const end = start < 0 ? -1 : text.indexOf('\n}\n', start);
  if (!name || end < 0)
    throw new Error(`${path}: no top-level \`export function ${name}(\` … \`}\` to key a Go patch on`);
  return text.slice(start + 1, end + 2);
}

/**
 * Go builds at once: two where memory allows (linking Vault, kube-apiserver or ESO takes 3–6 GiB),
 * so one build's module downloads and single-threaded link overlap another's compile on a 2-core
 * machine; one on a small machine. `ROTOR_GO_BUILDS` overrides.
 */
export function goBuildSlots(env: NodeJS.ProcessEnv = process.env, memory = totalmem()): number {
  const given = Number(env['ROTOR_GO_BUILDS']);
  if (Number.isInteger(given) && given > 0) return given;
  return memory >= 16 * 2 ** 30 ? 2 : 1;
}

const buildSlots = pLimit(goBuildSlots());

/**
 * Every stack build skips inlining: these are test servers, and it cuts compile time by about 28%
 * (etcd 47.5 s → 34.4 s with an empty build cache on the 2-core machine), which is most of a cold
 * `.ci/run`. Part of each binary's cache key.
 */
const goFlags = '-buildvcs=false -gcflags=all=-l';

/**
 * `<name>-<version>-<hash>`: the binary's directory in the cache. The hash covers what the binary is
 * built from (the wrapper's go.mod, flags, patches), so the stack and a test in another process
 * find the same binary.
 */
export function cacheName(b: GoBuild): string {
  const wrapperHash = createHash('sha256')
    .update(b.moduleDir ? readFileSync(join(b.moduleDir, 'go.mod')) : 'plain')
    .update(b.flags?.join(' ') ?? '')
    .update(goFlags)
    .update(b.patch ? patchKey(b.patch) : '')
    .digest('hex')
    .slice(0, 8);
  return `${b.name}-${b.version}-${wrapperHash}`;
}

/**
 * Builds a Go binary into `<cacheDir>/<name>-<version>-<wrapper hash>/<name>` unless it is there
 * already. Without a wrapper module it runs `go install pkg@version`. Returns the binary path.
 */
export async function goBinary(ctx: StackContext, b: GoBuild): Promise<string> {
  requireTool('go', 'install Go 1.23 or newer (https://go.dev/doc/install or your distribution package).');
  const dir = join(ctx.paths.cacheDir, 'bin', cacheName(b));
  const bin = join(dir, b.name);
  if (existsSync(bin)) return bin;
  let pending = building.get(bin);
  if (!pending) {
    pending = buildSlots(() => build(ctx, b, dir, bin)).finally(() => building.delete(bin));
    building.set(bin, pending);
  }
  return pending;
}

/** This process's builds under way, by binary path: a second caller waits for the first. */
const building = new Map<string, Promise<string>>();

async function build(ctx: StackContext, b: GoBuild, dir: string, bin: string): Promise<string> {
  // Another caller may have built it while this one waited for a slot.
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  ctx.log(`building ${b.name} ${b.version} from Go modules (first run on this machine only; cached in ${dir})`);
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${goFlags} -mod=mod` };
  // Another process (a test's private server beside the stack) may build the same binary at
  // once: each builds in a scratch directory of its own, and the rename into place is atomic.
  const scratch = join(dir, `build-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch);
  try {
    if (b.moduleDir) {
      const tmp = join(scratch, b.name);
      const buildIn = b.patch ? await patchedWrapper(b.moduleDir, b.patch, join(scratch, 'src'), env) : b.moduleDir;
      await run('go', ['build', ...(b.flags ?? []), '-o', tmp, b.pkg], buildIn, env);
      renameSync(tmp, bin);
    } else {
      // `go install pkg@version` honours the module's own go.mod; it only works without replace directives.
      const gobin = join(scratch, 'gobin');
      await run('go', ['install', ...(b.flags ?? []), `${b.pkg}@${b.version}`], dir, {
        ...env,
        GOFLAGS: goFlags,
        GOBIN: gobin,
      });
      renameSync(join(gobin, b.pkg.split('/').pop() ?? b.name), bin);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  ctx.log(`built ${b.name} ${b.version} in ${Math.round((Date.now() - started) / 1000)}s`);
  return bin;
}

/** What of a patch goes into the cache key: the files, and each edit by its source text. */
function patchKey(patch: NonNullable<GoBuild['patch']>): string {
  const files = Object.entries(patch.files).map(([f, c]) => [
    f,
    typeof c === 'string' ? c : declarationText(c.declaredIn, c.edit.name),
  ]);
  return JSON.stringify({ module: patch.module, version: patch.version, files });
}

/** A copy of the wrapper module whose `replace` points at a patched copy of `patch.module`. */
async function patchedWrapper(
  moduleDir: string,
  patch: NonNullable<GoBuild['patch']>,
  src: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const wrapper = join(src, 'wrapper');
  const copy = join(src, 'patched');
  mkdirSync(wrapper, { recursive: true });
  for (const f of ['go.mod', 'go.sum']) cpSync(join(moduleDir, f), join(wrapper, f));
  const out = await output('go', ['mod', 'download', '-json', `${patch.module}@${patch.version}`], wrapper, env);
  const from = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!from) throw new Error(`go mod download ${patch.module}@${patch.version} named no directory:\n${out}`);
  // The module cache is read-only: the copy's files get write permission back.
  cpSync(from, copy, { recursive: true });
  await run('chmod', ['-R', 'u+w', copy], src, env);
  for (const [file, content] of Object.entries(patch.files)) {
    const path = join(copy, file);
    if (typeof content === 'string') {
      writeFileSync(path, content);
      continue;
    }
    const original = readFileSync(path, 'utf8');
    const edited = content.edit(original);
    if (edited === original) throw new Error(`patch of ${patch.module}@${patch.version}: ${file} did not change`);
    writeFileSync(path, edited);
  }
  await run('go', ['mod', 'edit', `-replace=${patch.module}=../patched`], wrapper, env);
  return wrapper;
}

/**
 * Installs Debian packages when `present()` says something is missing: as root through apt-get
 * (as the stack installs PostgreSQL); otherwise fails naming the command to run.
 */
export async function ensureDebianPackages(
  ctx: StackContext,
  what: string,
  packages: string[],
  present: () => boolean,
): Promise<void> {
  if (present()) return;
  // dpkg takes one installer at a time; services install concurrently.
  const job = aptQueue.then(() => aptInstall(ctx, what, packages, present));
  aptQueue = job.catch(() => undefined);
  await job;
}

let aptQueue: Promise<unknown> = Promise.resolve();

async function aptInstall(ctx: StackContext, what: string, packages: string[], present: () => boolean): Promise<void> {
  if (present()) return;
  const command = `apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    throw new Error(`${what} is not installed; run 'sudo ${command}' (Debian/Ubuntu).`);
  }
  ctx.log(`installing ${what} from Debian packages (${packages.join(', ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], '/', env);
  await run('apt-get', ['install', '-y', '-qq', ...packages], '/', env);
  if (!present()) throw new Error(`${what}: still missing after '${command}'`);
}
