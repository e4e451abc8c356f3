/**
 * `npm test`: brings the local stack up when it is down (cached builds; the first run on a machine
 * builds Temporal, Vault, kube-apiserver, etcd and ESO from Go modules) and fetches Temporal's
 * time-skipping test server (dev/local-stack/test-server.ts); meanwhile it typechecks, lints and
 * builds, once for the run, the workflow bundle every test worker loads and the entry points test
 * processes start from: the worker as the image ships it and the CLI's dist/cli
 * (test/helpers/entry-points.ts). Then it runs every vitest project, judged
 * by dev/vitest-run.ts: a load error, a failing hook, an undeclared skip, an unhandled error, a
 * file that never reported or a file in no project fails it.
 * Ends with one summary line `tests: N passed, N failed, N skipped (declared)`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWorkflowBundle } from '../workers/bundle';
import { buildCli } from './build-cli';
import { checkKey, filesDigest, passedBefore, rememberPasses } from './check-passes';
import type { Pass } from './check-passes';
import { bundleFiles, bundleWorker } from './image/worker-bundle';
import { ensureBubblewrap } from './local-stack/bubblewrap';
import { stackPaths } from './local-stack/config';
import { stackUp } from './local-stack/manager';
import { temporalTestServer } from './local-stack/test-server';
import { printVerdict, runPhases, runVitest } from './vitest-run';
import { connectClient, temporalSettings } from '../adapters/temporal/connection';
import { useStackEnv } from './local-stack/stack-env';
import { terminateLeftovers } from './test-leftovers';
import config, { stackFreeProjects } from '../vitest.config';

/** How long a warm stack may take to come up before the tests split into two phases. */
const warmStackWaitMs = 120_000;

/** Every other project of vitest.config.ts needs the stack. */
const stackProjects = (config.test?.projects ?? [])
  .map((p) => (typeof p === 'object' && 'test' in p ? p.test?.name : undefined))
  .filter((name): name is string => typeof name === 'string' && !stackFreeProjects.includes(name));

interface Check {
  name: string;
  ok: boolean;
  seconds: number;
  output: string;
  /** Why it did not run, when it did not (a remembered pass). */
  note?: string;
}

/** Runs a check with its output held back, so it does not interleave with the tests'. */
function check(name: string, cmd: string, args: string[]): Promise<Check> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const end = (ok: boolean): void => done({ name, ok, seconds: (Date.now() - started) / 1000, output });
    child.on('error', (e) => {
      output += String(e);
      end(false);
    });
    child.on('close', (code) => end(code === 0));
  });
}

/**
 * A check skipped when the same command passed on the same files (`digest`, dev/check-passes.ts)
 * before, in this checkout or another clone. A check that ran and passed carries its key, to be
 * remembered once every check is done.
 */
async function rememberedCheck(
  passes: string,
  digest: string | undefined,
  name: string,
  cmd: string,
  args: string[],
): Promise<Check & { pass?: Pass }> {
  const key = digest === undefined ? undefined : checkKey(digest, [cmd, ...args]);
  const before = key === undefined ? undefined : passedBefore(passes, name, key);
  if (before) {
    const note = `(passed on these same files at ${before.at} in ${before.seconds.toFixed(0)} s; not run again)`;
    return { name, ok: true, seconds: 0, output: '', note };
  }
  const result = await check(name, cmd, args);
  return result.ok && key !== undefined ? { ...result, pass: { name, key, seconds: result.seconds } } : result;
}

/**
 * Where the checks keep what a second run in this checkout can reuse. Only caches that cannot go
 * stale are kept: tsc's build info hashes every file it read, Prettier's cache keys each file on its
 * content, its options and Prettier's version. ESLint's is not used: it keys a file on its own
 * content only, and a type-aware rule's answer also depends on the files it imports.
 */
const checkCache = join('node_modules', '.cache', 'rotor-checks');

/**
 * One after another: each already keeps a core busy, and the stack or the tests need the other.
 * The files are hashed once before the checks (`ROTOR_CHECK_PASSES=off`: not at all, every check
 * runs) and once after, so a pass is kept only for the files it read.
 */
async function staticChecks(): Promise<Check[]> {
  const passes = join(stackPaths().cacheDir, 'check-passes');
  const digest = process.env['ROTOR_CHECK_PASSES'] === 'off' ? undefined : filesDigest(process.cwd());
  const run = (name: string, cmd: string, args: string[]) => rememberedCheck(passes, digest, name, cmd, args);
  const tsBuildInfo = join(checkCache, 'tsc.tsbuildinfo');
  const prettierCache = join(checkCache, 'prettier');
  const out = [
    await run('typecheck', 'npx', ['tsc', '--noEmit', '--incremental', '--tsBuildInfoFile', tsBuildInfo]),
    await run('lint', 'npx', ['eslint', '.']),
    await run('format', 'npx', ['prettier', '--check', '--cache', '--cache-location', prettierCache, '.']),
  ];
  const passed = out.flatMap((c) => (c.pass ? [c.pass] : []));
  if (digest !== undefined) rememberPasses(passes, process.cwd(), digest, passed);
  return out;
}

/** The workflow bundle, the worker bundle and dist/cli, built side by side (esbuild and webpack). */
async function buildBundles(): Promise<{ workflows: string; worker: string; dirs: string[]; seconds: number }> {
  const started = Date.now();
  const workflowsDir = mkdtempSync(join(tmpdir(), 'rotor-workflows-'));
  const workflows = join(workflowsDir, 'workflows.js');
  const workerDir = mkdtempSync(join(tmpdir(), 'rotor-worker-'));
  await Promise.all([writeWorkflowBundle(workflows), bundleWorker(workerDir), buildCli()]);
  return {
    workflows,
    worker: join(workerDir, bundleFiles.worker),
    dirs: [workflowsDir, workerDir],
    seconds: (Date.now() - started) / 1000,
  };
}

/** The browser test drives Debian's Chromium; install it when missing (as root, via apt). */
function ensureChromium(): void {
  const path = process.env['ROTOR_CHROMIUM'] ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `Chromium missing at ${path}: install Debian's 'chromium' package (the browser test will fail)\n`,
    );
    return;
  }
  process.stderr.write('installing Chromium from Debian packages for the browser test\n');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

const since = (t: number): string => `${Math.round((Date.now() - t) / 1000)} s`;

/**
 * Terminates what the tests left running on the stack's Temporal server (dev/test-leftovers.ts),
 * keeping the stack's own task queue; says how many. A failure to reach it is reported, never fatal.
 */
async function cleanUpAfter(start: Date): Promise<void> {
  const env = { ...process.env, ...useStackEnv() };
  try {
    const client = await connectClient(env);
    try {
      const stackQueue = temporalSettings(env).taskQueue;
      const n = await terminateLeftovers(client, start, (q) => q !== stackQueue);
      process.stderr.write(`terminated ${n} workflow run(s) the tests left running\n`);
    } finally {
      await client.connection.close();
    }
  } catch (e) {
    process.stderr.write(`could not clean up the runs the tests left running: ${(e as Error).message}\n`);
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const ctx = { paths: stackPaths(), log: (l: string) => process.stderr.write(`[stack] ${l}\n`) };
  // V8's compiled code of node_modules, kept on disk for every Node process the run starts (about
  // a hundred test processes, workers and CLI commands load the same packages): ~10 % of their CPU.
  // Node checks each entry against the file's content, so a changed package is compiled afresh.
  process.env['NODE_COMPILE_CACHE'] ??= join(ctx.paths.cacheDir, 'node-compile-cache');
  // The bundle gates the tests, the checks do not: the checks wait for it rather than slow it down.
  const bundle = buildBundles();
  const checks = bundle.then(staticChecks, staticChecks);
  ensureChromium();
  // The workflow tests' time-skipping server (Java, from Maven Central) is fetched beside the stack.
  const testServer = temporalTestServer(ctx);
  // The unit tests attack the command-canary sandbox: bubblewrap must be there (a missing one fails them).
  const sandbox = ensureBubblewrap(ctx);
  const stack = stackUp(ctx, []).then(() => process.stderr.write(`stack ready after ${since(started)}\n`));
  const { workflows, worker, dirs, seconds } = await bundle;
  process.stderr.write(`workflow bundle, worker bundle and CLI built once for the run in ${seconds.toFixed(1)} s\n`);
  process.stderr.write('\n== tests: vitest run (judged by dev/vitest-run.ts)\n');
  const testsStarted = Date.now();
  const env = { ...process.env, ROTOR_WORKFLOW_BUNDLE: workflows, ROTOR_TEST_WORKER_BUNDLE: worker };
  const args = process.argv.slice(2);
  // A warm machine starts its stack within a minute or so; only a machine that builds it runs
  // the tests in two phases.
  const stackSoon = await Promise.race([
    stack.then(
      () => true,
      () => true,
    ),
    new Promise<false>((r) => setTimeout(() => r(false), warmStackWaitMs).unref()),
  ]);
  const verdict =
    args.length > 0 || stackSoon
      ? await Promise.all([stack, testServer, sandbox]).then(() => runVitest(args, { env }))
      : // On a new machine the stack's Go builds take most of the run: the projects that need no
        // stack service run meanwhile, and the whole is judged as one full run. (Two vitest
        // processes beside a ready stack would only compete for the two cores.)
        await runPhases(
          [
            { args: stackFreeProjects.flatMap((p) => ['--project', p]), ready: Promise.all([testServer, sandbox]) },
            {
              args: stackProjects.flatMap((p) => ['--project', p]),
              ready: Promise.all([stack, testServer, sandbox]),
            },
          ],
          { env, full: true },
        );
  process.stderr.write(`\nvitest took ${since(testsStarted)}\n`);
  await cleanUpAfter(new Date(testsStarted));
  // The bundles are the run's own (tens of MB each time); nothing reads them after it.
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  const done = await checks;
  for (const c of done) {
    const how = c.note ?? `in ${c.seconds.toFixed(0)} s`;
    process.stderr.write(`== ${c.name}: ${c.ok ? 'ok' : 'FAILED'} ${how}\n`);
    if (!c.ok) process.stderr.write(c.output);
  }
  const failedChecks = done.filter((c) => !c.ok);
  for (const c of failedChecks) {
    process.stderr.write(
      `${c.name} failed (counted as one failure${c.name === 'format' ? '; `npm run format` fixes formatting' : ''})\n`,
    );
  }
  process.stderr.write(`npm test took ${since(started)}\n`);
  if (!verdict) {
    process.stderr.write('vitest wrote no report: it crashed before running tests\n');
    return 1;
  }
  return printVerdict(verdict, failedChecks.length) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`npm test: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
