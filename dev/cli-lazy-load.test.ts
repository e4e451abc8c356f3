/**
 * `rotor --help` and `rotor validate` never load the Temporal, AWS or Kubernetes clients (issue
 * #22: the CLI answers at once). Not a timing test: the CLI is built as `npm run build:cli` builds
 * it, run as a child process under a module recorder (test/helpers/record-loads.ts, Node's own
 * module hooks, which see every import and require), and the list of what it loaded is checked,
 * beside what the command printed. Commands that do need a client are run under the same recorder
 * as the control: the recorder sees those loads, so an empty finding above is not a blind one.
 * The built CLI's own code cache (cli/bundle-loader.cjs) is checked by the files it writes: written
 * by a command's first run, used unchanged by the next, replaced when V8 refuses it.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from './build-cli';
import { runBuiltCli } from './run-built-cli';
import type { BuiltCliRun } from './run-built-cli';

const root = fileURLToPath(new URL('../', import.meta.url));
const recorder = join(root, 'test/helpers/record-loads.ts');
const heavy = ['@temporalio/', '@aws-sdk/', '@kubernetes/client-node'];
const playbook = join(root, 'playbooks/demo-three-clusters.yaml');

let dir: string;
let runs = 0;

interface Run extends BuiltCliRun {
  /** Every module URL the process loaded. */
  loaded: string[];
}

/** Runs the built CLI with `args` under the recorder. */
async function rotor(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const record = join(dir, `loads-${++runs}.txt`);
  // The cache of playbook outcomes (cli/playbook-cache.ts) in the test's own directory, not the user's.
  const run = await runBuiltCli(
    dir,
    args,
    { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg'), ...env, ROTOR_RECORD_LOADS: record },
    ['--import', recorder],
  );
  return { ...run, loaded: readFileSync(record, 'utf8').split('\n').filter(Boolean) };
}

/**
 * The packages of `heavy` among the loaded modules, once each. The build bundles the Temporal
 * packages: dist/cli/temporal.cjs, which loads that bundle, counts as `@temporalio/`.
 */
const heavyLoaded = (r: Run): string[] =>
  heavy.filter((p) =>
    r.loaded.some(
      (url) => url.includes(`/node_modules/${p}`) || (p === '@temporalio/' && url.endsWith('/cli/temporal.cjs')),
    ),
  );

beforeAll(async () => {
  // Inside the checkout: the built CLI imports its external packages from ./node_modules.
  mkdirSync(join(root, 'dist'), { recursive: true });
  dir = mkdtempSync(join(root, 'dist/lazy-load-test-'));
  await buildCli(join(dir, 'cli'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the built CLI loads a client only for a command that uses it', () => {
  it('rotor --help lists every command and loads no client and no other package', async () => {
    const r = await rotor(['--help']);
    expect(r.code).toBe(0);
    for (const command of [
      'validate',
      'rotate',
      'watch',
      'plan',
      'rbac',
      'doctor',
      'schedule',
      'status',
      'ui',
      'incident',
    ])
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    for (const command of ['approve', 'abort', 'skip-soak', 'pause', 'resume', 'retry'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command} \\[options\\] <secret>`, 'm'));
    expect(r.loaded.some((url) => url.endsWith('/cli/main.cjs'))).toBe(true);
    expect(heavyLoaded(r)).toEqual([]);
    // commander is built in: help reads nothing from node_modules at all.
    expect(r.loaded.filter((url) => url.includes('/node_modules/'))).toEqual([]);
  });

  it('rotor rotate --help shows its options without loading its body', async () => {
    const r = await rotor(['rotate', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--emergency');
    expect(heavyLoaded(r)).toEqual([]);
  });

  it('rotor incident start --help and rotor incident --help load no client', async () => {
    const start = await rotor(['incident', 'start', '--help']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('--per-backend');
    expect(heavyLoaded(start)).toEqual([]);
    const incident = await rotor(['incident', '--help']);
    for (const command of ['start', 'status', 'pause', 'resume', 'abort'])
      expect(incident.stdout).toMatch(new RegExp(`^  ${command} \\[options\\]`, 'm'));
    expect(heavyLoaded(incident)).toEqual([]);
  });

  it('rotor validate <playbook> validates and loads no client', async () => {
    const r = await rotor(['validate', playbook]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: `ok ${playbook}\n` });
    expect(heavyLoaded(r)).toEqual([]);
  });

  it('rotor validate of a broken playbook names the field, exits 1, and loads no client', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(playbook, 'utf8').replace('length: 40', 'length: -3'));
    const r = await rotor(['validate', broken]);
    expect(r.code).toBe(1);
    // zod's English messages: the build keeps that locale only (dev/build-cli.ts).
    expect(r.stdout).toBe(`${broken}: spec.credential.length: Too small: expected number to be >=16\n`);
    expect(heavyLoaded(r)).toEqual([]);
  });

  it('rotor validate --policy reports what the policy refuses, and loads no client', async () => {
    const refused = await rotor([
      'validate',
      '--policy',
      join(root, 'dev/policy/two-teams.yaml'),
      '--as',
      'eve@x',
      playbook,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe(
      `${playbook}: metadata: no tenant of the policy matches this playbook (file ${playbook}, labels {}, requester eve@x)` +
        ' (policy rule tenants[].match; to allow it an admin would add a tenant whose match selects this playbook)\n',
    );
    expect(heavyLoaded(refused)).toEqual([]);
    const allowed = await rotor(['validate', '--policy', join(root, 'dev/policy/allow-all.yaml'), playbook]);
    expect({ code: allowed.code, stdout: allowed.stdout }).toEqual({ code: 0, stdout: `ok ${playbook}\n` });
    const broken = await rotor(['validate', '--policy', join(dir, 'missing-policy.yaml'), playbook]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain('missing-policy.yaml');
  });

  it('control: the recorder sees the Temporal client of rotor ui and the Kubernetes client of rotor doctor', async () => {
    const ui = await rotor(['ui']);
    expect(ui.code).toBe(0);
    expect(ui.stdout).toContain('running');
    expect(heavyLoaded(ui)).toContain('@temporalio/');
    // Fails on the missing file after its body (and the Kubernetes client) loaded: no cluster is asked.
    const doctor = await rotor(['doctor', '--encryption-config', join(dir, 'missing.yaml')]);
    expect(doctor.code).toBe(1);
    expect(doctor.stderr).toContain('--encryption-config');
    expect(heavyLoaded(doctor)).toContain('@kubernetes/client-node');
  });
});

/** The code cache files under the build, as `<bundle prefix>/<command>.bin` (the bundle's hash left out). */
function cacheFiles(): string[] {
  const caches = join(dir, 'cli/code-cache');
  return readdirSync(caches).flatMap((bundle) =>
    readdirSync(join(caches, bundle)).map((f) => `${bundle.replace(/-[A-Z0-9]+\.cjs$/, '')}/${f}`),
  );
}
const cacheFile = (bundlePrefix: string, command: string): string => {
  const caches = join(dir, 'cli/code-cache');
  const bundle = readdirSync(caches).find((b) => b.startsWith(`${bundlePrefix}-`));
  return join(caches, bundle ?? `${bundlePrefix}-missing`, `${command}.bin`);
};

describe("the built CLI's code cache", () => {
  it('help runs the bundle without command bodies; a command runs the whole one, and the Temporal one if it asks; each writes its own cache', () => {
    // Earlier tests in this file ran these commands already: each has its cache beside its bundle.
    expect(cacheFiles()).toEqual(
      expect.arrayContaining(['help/help.bin', 'bundle/validate.bin', 'bundle/ui.bin', 'temporal/ui.bin']),
    );
    expect(cacheFiles().filter((f) => f.startsWith('help/'))).toEqual(['help/help.bin']);
  });

  it('the next run uses the cache as it is, and a cache V8 refuses is replaced with the same answer', async () => {
    const file = cacheFile('bundle', 'validate');
    const written = statSync(file);
    const again = await rotor(['validate', playbook]);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: `ok ${playbook}\n` });
    // Accepted: the loader rewrites a cache only when V8 refused it (a new file, by rename).
    expect(statSync(file)).toMatchObject({ ino: written.ino, mtimeMs: written.mtimeMs, size: written.size });

    truncateSync(file, Math.floor(written.size / 2));
    const refused = await rotor(['validate', playbook]);
    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 0, stdout: `ok ${playbook}\n` });
    const replaced = statSync(file);
    expect(replaced.ino).not.toBe(written.ino);
    // Whole, not the truncated file: the next run uses it as it is. (Its size is not the first one's:
    // this run read the playbook's kept outcome (cli/playbook-cache.ts), so V8 compiled no zod.)
    const next = await rotor(['validate', playbook]);
    expect({ code: next.code, stdout: next.stdout }).toEqual({ code: 0, stdout: `ok ${playbook}\n` });
    expect(statSync(file)).toMatchObject({ ino: replaced.ino, mtimeMs: replaced.mtimeMs, size: replaced.size });
  });
});
