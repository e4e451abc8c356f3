/**
 * The built CLI keeps each playbook's validation outcome per user (cli/playbook-cache.ts) and says
 * exactly what it says without the cache: `rotor validate` and `rotor status` print the same lines
 * and exit with the same codes on the run that validates, on the runs that read the kept outcome,
 * after an entry is tampered with, with the cache turned off, and when the cache directory is not
 * private (then nothing is kept). The CLI is built as `npm run build:cli` builds it: only the built
 * CLI has a build hash to key its entries on.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from './build-cli';
import { exitAtTemporal } from './exit-at-temporal';
import { runBuiltCli } from './run-built-cli';
import type { BuiltCliRun } from './run-built-cli';

const root = fileURLToPath(new URL('../', import.meta.url));
const playbooks = join(root, 'playbooks');

let dir: string;
let xdg: string;

/** Runs the built CLI with `args`, its cache of outcomes under the test's own XDG_CACHE_HOME. */
const rotor = (args: string[], env: NodeJS.ProcessEnv = {}, node: string[] = []): Promise<BuiltCliRun> =>
  runBuiltCli(dir, args, { ...process.env, XDG_CACHE_HOME: xdg, ...env }, node);

/** Every entry of the cache, over all builds. */
function entries(): string[] {
  const checks = join(xdg, 'rotor/playbook-checks');
  try {
    return readdirSync(checks).flatMap((build) => readdirSync(join(checks, build)).map((f) => join(checks, build, f)));
  } catch {
    return [];
  }
}

const uncached = { ROTOR_PLAYBOOK_CACHE: 'off' };

beforeAll(async () => {
  mkdirSync(join(root, 'dist'), { recursive: true });
  dir = mkdtempSync(join(root, 'dist/playbook-cache-test-'));
  xdg = join(dir, 'xdg');
  await buildCli(join(dir, 'cli'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rotor validate through the cache of outcomes', () => {
  it('prints the same lines and exit code uncached, on the run that keeps the outcomes, and on the one that reads them', async () => {
    const broken = join(dir, 'broken.yaml');
    const good = readFileSync(join(playbooks, 'demo-three-clusters.yaml'), 'utf8');
    writeFileSync(broken, good.replace('length: 40', 'length: -3').replace('secretName:', 'secretNme:'));
    const files = [
      ...readdirSync(playbooks)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(playbooks, f)),
      broken,
    ];
    const expected = await rotor(['validate', ...files], uncached);
    expect(expected.code).toBe(1);
    expect(expected.stdout).toContain(`${broken}: spec.credential.length: Too small: expected number to be >=16\n`);
    expect(entries()).toEqual([]);

    const first = await rotor(['validate', ...files]);
    expect(entries()).toHaveLength(files.length);
    const second = await rotor(['validate', ...files]);
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
  });

  it('a tampered entry is validated again and replaced: the same answer', async () => {
    const file = join(dir, 'p.yaml');
    copyFileSync(join(playbooks, 'demo-three-clusters.yaml'), file);
    const expected = await rotor(['validate', file], uncached);
    await rotor(['validate', file]);
    const before = new Set(entries());
    const bytesHash = createHash('sha256').update(readFileSync(file)).digest('hex');
    const [entry = ''] = entries().filter((e) => e.endsWith(`/${bytesHash}.json`));
    expect(readFileSync(entry, 'utf8')).toContain('"length":40');
    writeFileSync(entry, readFileSync(entry, 'utf8').replace('"length":40', '"length":4'));
    expect(await rotor(['validate', file])).toEqual(expected);
    expect(new Set(entries())).toEqual(before);
    expect(readFileSync(entry, 'utf8')).toContain('"length":40');

    // Control: the run above did read the entry. One forged with its checksum is believed, which is
    // why the CLI uses no directory another user could write (cli/private-dir.ts).
    const body = JSON.stringify({
      ...(JSON.parse(readFileSync(entry, 'utf8').slice(65)) as object),
      outcome: { problems: [{ path: 'spec', message: 'forged' }] },
    });
    writeFileSync(entry, `${createHash('sha256').update(body).digest('hex')}\n${body}`);
    expect(await rotor(['validate', file])).toEqual({ code: 1, stdout: `${file}: spec: forged\n`, stderr: '' });
    rmSync(entry); // the shipped playbook's bytes: the tests below read them
  });

  it('a cache directory others may write is not used: nothing is read or kept there', async () => {
    const open = join(dir, 'open-xdg');
    mkdirSync(join(open, 'rotor/playbook-checks'), { recursive: true });
    chmodSync(join(open, 'rotor/playbook-checks'), 0o777);
    const file = join(playbooks, 'vault-api-key.yaml');
    const r = await rotor(['validate', file], { XDG_CACHE_HOME: open });
    expect(r).toEqual({ code: 0, stdout: `ok ${file}\n`, stderr: '' });
    expect(readdirSync(join(open, 'rotor/playbook-checks'))).toEqual([]);
  });
});

describe('rotor status up to its first Temporal call', () => {
  it('reads the playbook directory through the cache and reaches Temporal, as without it', async () => {
    for (const env of [uncached, {}, {}]) {
      const r = await rotor(['status', playbooks], env, ['--import', exitAtTemporal]);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  it('an invalid playbook in the directory fails the same way, before Temporal, on every run', async () => {
    const bad = join(dir, 'bad-dir');
    mkdirSync(bad);
    copyFileSync(join(playbooks, 'vault-api-key.yaml'), join(bad, 'a.yaml'));
    writeFileSync(join(bad, 'b.yaml'), 'apiVersion: rotor.dev/v1\nkind: [unclosed\n');
    const expected = await rotor(['status', bad], uncached, ['--import', exitAtTemporal]);
    expect(expected.code).toBe(1);
    expect(expected.stderr).toContain(`${join(bad, 'b.yaml')}: YAML:`);
    for (let i = 0; i < 2; i++)
      expect(await rotor(['status', bad], {}, ['--import', exitAtTemporal])).toEqual(expected);
  });
});
