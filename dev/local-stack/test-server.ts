import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackContext } from './service';
import { portOpen, sleep } from './process';
import { ensureDebianPackages, which } from './toolchain';

/** The Maven project that names the test server's version (dev/java/temporal-test-server/pom.xml). */
const pom = fileURLToPath(new URL('../java/temporal-test-server/pom.xml', import.meta.url));

/** Changes when what the cache entry holds changes (jars, class-data archive, wrapper), so old entries are not reused. */
const layout = 'lib+classes.jsa+wrapper/2';

function pomVersion(text: string): string {
  const version = /<temporal\.test-server\.version>([^<]+)</.exec(text)?.[1];
  if (!version) throw new Error(`${pom}: no <temporal.test-server.version> property`);
  return version;
}

/**
 * Where the wrapper of Temporal's time-skipping test server lives: `<cache>/bin/temporal-test-server-
 * <version>-<pom hash>/temporal-test-server`, with the jars beside it under `lib/`.
 */
export function testServerPath(cacheDir: string): { dir: string; wrapper: string; version: string } {
  const text = readFileSync(pom);
  const version = pomVersion(text.toString('utf8'));
  const hash = createHash('sha256').update(text).update(layout).digest('hex').slice(0, 8);
  const dir = join(cacheDir, 'bin', `temporal-test-server-${version}-${hash}`);
  return { dir, wrapper: join(dir, 'temporal-test-server'), version };
}

/**
 * Temporal's time-skipping test server, for workflow tests that wait hours or days of workflow time
 * in seconds. The SDKs download it as a native binary from GitHub; this machine reaches only package
 * registries, so the same server's Java implementation (`io.temporal:temporal-test-server`) is
 * fetched from Maven Central with its dependencies into the cache, once per version. Returns an
 * executable that takes the SDK's arguments (`<port> [--enable-time-skipping]`).
 */
export async function temporalTestServer(ctx: StackContext): Promise<string> {
  const { dir, wrapper, version } = testServerPath(ctx.paths.cacheDir);
  // As root through apt-get (as the stack installs PostgreSQL); otherwise an error naming the command.
  await ensureDebianPackages(
    ctx,
    "Java 17 and Maven (the workflow tests run Temporal's Java test server)",
    ['openjdk-17-jre-headless', 'maven'],
    () => which('java') !== undefined && which('mvn') !== undefined,
  );
  if (existsSync(wrapper)) return wrapper;
  ctx.log(`fetching Temporal's test server ${version} and its jars from Maven Central (cached in ${dir})`);
  // Fetched beside the final directory and renamed into place; the wrapper is written last, so a
  // directory without it is a fetch still running (or one that was interrupted).
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await run('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${join(tmp, 'lib')}`]);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
    return waitForOtherFetch(dir, wrapper);
  }
  // Class data sharing checks the class path, so the archive is made where the jars now stay.
  await archiveClasses(java(dir), join(dir, 'classes.jsa'));
  writeFileSync(`${wrapper}.tmp`, wrapperScript(dir, version), { mode: 0o755 });
  renameSync(`${wrapper}.tmp`, wrapper);
  return wrapper;
}

async function waitForOtherFetch(dir: string, wrapper: string): Promise<string> {
  for (let i = 0; i < 1200 && !existsSync(wrapper); i++) await sleep(100);
  if (existsSync(wrapper)) return wrapper;
  throw new Error(`${dir} has no wrapper after 2 minutes: an interrupted fetch; remove the directory and run again`);
}

/** The JVM command line of the server in `dir`. SerialGC, a small heap and C1 only: tests start one per file. */
function java(dir: string, ...flags: string[]): string[] {
  const jvm = which('java') ?? 'java';
  return [
    jvm,
    ...flags,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Xmx512m',
    '-cp',
    `${join(dir, 'lib')}/*`,
    mainClass,
  ];
}

const mainClass = 'io.temporal.testserver.TestServer';

/**
 * The SDK gives an existing-path server 5 s to listen. A JVM on a loaded 2-core machine takes 1.5–3.5 s
 * to get there; with a class-data-sharing archive of the server's classes about 0.8 s.
 */
function wrapperScript(dir: string, version: string): string {
  const quoted = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const archive = join(dir, 'classes.jsa');
  const line = (flags: string[]) => ['exec', ...java(dir, ...flags).map(quoted), '"$@"'].join(' ');
  return [
    '#!/bin/sh',
    `# Temporal's time-skipping test server ${version} (io.temporal:temporal-test-server from Maven Central).`,
    '# Written by dev/local-stack/test-server.ts; arguments as the SDK passes them: <port> [--enable-time-skipping].',
    `[ -f ${quoted(archive)} ] && ${line([`-XX:SharedArchiveFile=${archive}`])}`,
    line([]),
    '',
  ].join('\n');
}

/**
 * Runs the server once until it listens and dumps the classes it loaded into `archive`. Best
 * effort: without the archive the server starts more slowly, nothing else changes.
 */
async function archiveClasses(cmd: string[], archive: string): Promise<void> {
  const port = await freePort();
  const [jvm = 'java', ...args] = cmd;
  const child = spawn(jvm, [`-XX:ArchiveClassesAtExit=${archive}`, ...args, String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 600 && child.exitCode === null && !(await portOpen(port)); i++) await sleep(100);
  // A normal JVM exit (SIGTERM runs the shutdown hooks) writes the archive.
  child.kill('SIGTERM');
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const tail = `${stdout}${stderr}`.slice(-3000);
      reject(new Error(`${cmd} ${args.join(' ')} failed (is Maven Central reachable?):\n${tail}`));
    });
  });
}
