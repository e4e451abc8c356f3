/**
 * The CLI's cache of playbook outcomes (cli/playbook-cache.ts, cli/playbook-files.ts) cannot make
 * the CLI say what a fresh validation would not: a kept playbook deep-equals zod's parse of the same
 * bytes, problems come back word for word under the name the CLI was given, and a changed byte,
 * another build, or a damaged or tampered entry is validated for real.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPlaybookText } from '../adapters/playbook-loader';
import type { CheckedPlaybook } from '../core/playbook/validate';
import { loadCheckedPlaybook } from './playbook-files';
import { openPlaybookCache, userCacheDir } from './playbook-cache';
import type { CachedOutcome, PlaybookCache } from './playbook-cache';
import { sha256 } from './sha256';

const shipped = (await readdir('playbooks')).filter((f) => f.endsWith('.yaml')).map((f) => join('playbooks', f));

/** A valid playbook except for what `spec` (YAML lines under `spec:`) says. */
const doc = (spec: string) =>
  ['apiVersion: rotor.dev/v1', 'kind: RotationPlaybook', 'metadata:', '  name: demo', 'spec:', spec].join('\n');
const secret = '  secret: { name: demo, store: { type: aws, secretId: rotor-demo/x } }\n  credential: { kind: random }';
const cluster = (name: string, delivery = 'push') =>
  `    - { name: ${name}, delivery: ${delivery}, namespace: payments, secretName: api-key }`;

/** Documents beside the shipped playbooks: valid and invalid, YAML errors, unknown fields, missing ones. */
const fixtures: Record<string, string> = {
  'minimal.yaml': doc(secret),
  'two-clusters.yaml': doc(`${secret}\n  clusters:\n${cluster('a')}\n${cluster('b', 'eso')}\n  waves: [[a], [b]]`),
  'missing-name.yaml': doc('  secret:\n    store: { type: aws, secretId: x }\n  credential: { kind: random }'),
  'unknown-field.yaml': doc(`${secret}\n  soakTime: 10m`),
  'bad-duration.yaml': doc(`${secret}\n  soak: ten minutes`),
  'duplicate-cluster.yaml': doc(`${secret}\n  clusters:\n${cluster('a')}\n${cluster('a', 'eso')}`),
  'odd-key.yaml': doc(`${secret}\n  "a b": 1`),
  'yaml-error.yaml': 'apiVersion: rotor.dev/v1\nkind: [unclosed\n',
  'empty.yaml': '',
  'not-an-object.yaml': '- 1\n- 2\n',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rotor-playbook-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A cache that counts what it answered from its entries. */
function counted(cache: PlaybookCache): PlaybookCache & { hits: number } {
  const c = {
    hits: 0,
    get: (h: string) => {
      const o = cache.get(h);
      if (o) c.hits++;
      return o;
    },
    put: (h: string, o: CachedOutcome) => cache.put(h, o),
  };
  return c;
}

/** What loadCheckedPlaybook gave: the playbook or the problems of its PlaybookError. */
async function outcomeOf(file: string, cache: PlaybookCache | undefined): Promise<CheckedPlaybook> {
  try {
    return { playbook: await loadCheckedPlaybook(file, cache) };
  } catch (e) {
    if (e instanceof Error && 'problems' in e) return { problems: (e as { problems: [] }).problems };
    throw e;
  }
}

/** Every file of the test: the shipped playbooks and the fixtures, written to `dir`. */
function allFiles(): string[] {
  const files = Object.entries(fixtures).map(([name, text]) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
  return [...shipped, ...files];
}

const entries = (root: string, build: string) => readdirSync(join(root, build)).map((n) => join(root, build, n));

describe('a kept outcome is the outcome of a fresh validation', () => {
  it('for every shipped playbook and fixture: the same playbook (deep, strict) or the same problems', async () => {
    const files = allFiles();
    const root = join(dir, 'cache');
    // The first pass validates and keeps; the second, through a new cache object, only reads.
    const first = counted(openPlaybookCache(root, 'b'.repeat(64)));
    for (const f of files) await outcomeOf(f, first);
    expect(first.hits).toBe(0);
    const second = counted(openPlaybookCache(root, 'b'.repeat(64)));
    for (const f of files) {
      const fresh = checkPlaybookText(readFileSync(f, 'utf8'), f);
      const kept = await outcomeOf(f, second);
      expect(kept, f).toStrictEqual(fresh);
      expect(isDeepStrictEqual(kept, fresh), f).toBe(true);
    }
    expect(second.hits).toBe(files.length);
    // Both kinds of outcome were kept and read back.
    const invalid = Object.keys(fixtures).filter((n) => 'problems' in checkPlaybookText(fixtures[n] ?? '', n));
    expect(invalid).toEqual(Object.keys(fixtures).slice(2));
  });

  it('gives problems under the name the CLI was given this time, not the one they were kept under', async () => {
    writeFileSync(join(dir, 'one.yaml'), fixtures['duplicate-cluster.yaml'] ?? '');
    writeFileSync(join(dir, 'two.yaml'), fixtures['duplicate-cluster.yaml'] ?? '');
    const cache = counted(openPlaybookCache(join(dir, 'cache'), 'b'.repeat(64)));
    await outcomeOf(join(dir, 'one.yaml'), cache);
    const kept = await outcomeOf(join(dir, 'two.yaml'), cache);
    expect(cache.hits).toBe(1);
    expect(kept).toStrictEqual(checkPlaybookText(fixtures['duplicate-cluster.yaml'] ?? '', join(dir, 'two.yaml')));
  });

  it('keeps nothing JSON cannot carry exactly: a soak of -0 is validated every time', async () => {
    const file = join(dir, 'minus-zero.yaml');
    writeFileSync(file, doc(`${secret}\n  soak: -0`));
    const cache = counted(openPlaybookCache(join(dir, 'cache'), 'b'.repeat(64)));
    const fresh = checkPlaybookText(readFileSync(file, 'utf8'), file);
    expect(Object.is('playbook' in fresh && fresh.playbook.spec.soak, -0)).toBe(true);
    expect(await outcomeOf(file, cache)).toStrictEqual(fresh);
    expect(await outcomeOf(file, cache)).toStrictEqual(fresh);
    expect(cache.hits).toBe(0);
  });

  it('reports a file it cannot read as before, and keeps nothing for it', async () => {
    const cache = counted(openPlaybookCache(join(dir, 'cache'), 'b'.repeat(64)));
    expect(await outcomeOf(join(dir, 'absent.yaml'), cache)).toEqual({
      problems: [{ file: join(dir, 'absent.yaml'), path: '', message: 'cannot read playbook: ENOENT' }],
    });
  });
});

describe('what is validated for real', () => {
  /** A cache whose entry for `file`'s bytes says something false: a valid playbook for invalid bytes. */
  function lyingEntry(root: string, build: string, bytes: Buffer): void {
    const cache = openPlaybookCache(root, build);
    cache.put(sha256(bytes), { problems: [{ path: 'spec', message: 'a verdict no validation gave' }] });
  }

  it('bytes with a changed byte', async () => {
    const file = join(dir, 'p.yaml');
    const text = fixtures['minimal.yaml'] ?? '';
    const root = join(dir, 'cache');
    lyingEntry(root, 'b'.repeat(64), Buffer.from(text));
    writeFileSync(file, text.replace('demo', 'deme'));
    const cache = counted(openPlaybookCache(root, 'b'.repeat(64)));
    expect(await outcomeOf(file, cache)).toStrictEqual(checkPlaybookText(readFileSync(file, 'utf8'), file));
    expect(cache.hits).toBe(0);
    // The control: the unchanged bytes do meet the planted entry.
    writeFileSync(file, text);
    expect(await outcomeOf(file, cache)).toEqual({
      problems: [{ file, path: 'spec', message: 'a verdict no validation gave' }],
    });
  });

  it("another build's entry", async () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, fixtures['minimal.yaml'] ?? '');
    const root = join(dir, 'cache');
    lyingEntry(root, 'a'.repeat(64), readFileSync(file));
    const cache = counted(openPlaybookCache(root, 'b'.repeat(64)));
    expect(await outcomeOf(file, cache)).toStrictEqual(checkPlaybookText(readFileSync(file, 'utf8'), file));
    expect(cache.hits).toBe(0);
    // An entry copied into this build's directory names its own build, and is refused too.
    const [other] = entries(root, 'a'.repeat(64));
    const [mine] = entries(root, 'b'.repeat(64));
    writeFileSync(mine ?? '', readFileSync(other ?? ''));
    expect(await outcomeOf(file, cache)).toStrictEqual(checkPlaybookText(readFileSync(file, 'utf8'), file));
    expect(cache.hits).toBe(0);
  });

  it('an entry tampered with, truncated or not JSON; each is rewritten with the real outcome', async () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, fixtures['two-clusters.yaml'] ?? '');
    const fresh = checkPlaybookText(readFileSync(file, 'utf8'), file);
    const root = join(dir, 'cache');
    const build = 'b'.repeat(64);
    await outcomeOf(file, openPlaybookCache(root, build));
    const [entry = ''] = entries(root, build);
    const good = readFileSync(entry, 'utf8');
    const damaged = [
      good.replace('"namespace":"payments"', '"namespace":"kube-system"'),
      good.slice(0, good.length - 10),
      `${sha256('x')}\nx`,
      good.replace(/^[0-9a-f]{64}/, sha256('{}')),
      '',
    ];
    for (const text of damaged) {
      writeFileSync(entry, text);
      const cache = counted(openPlaybookCache(root, build));
      expect(await outcomeOf(file, cache)).toStrictEqual(fresh);
      expect(cache.hits).toBe(0);
      expect(readFileSync(entry, 'utf8')).toBe(good);
    }
  });

  it('an entry whose checksum matches but whose outcome has another shape', async () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, fixtures['minimal.yaml'] ?? '');
    const root = join(dir, 'cache');
    const build = 'b'.repeat(64);
    const bytes = sha256(readFileSync(file));
    const cache = counted(openPlaybookCache(root, build));
    cache.put(bytes, { problems: [{ path: '', message: 'x' }] });
    const [entry = ''] = entries(root, build);
    for (const outcome of [{ playbook: [] }, { problems: [{ path: 1 }] }, { playbook: {}, problems: [] }, null]) {
      const body = JSON.stringify({ build, bytes, outcome });
      writeFileSync(entry, `${sha256(body)}\n${body}`);
      expect(await outcomeOf(file, cache)).toStrictEqual(checkPlaybookText(readFileSync(file, 'utf8'), file));
    }
    expect(cache.hits).toBe(0);
  });
});

describe('where the cache lives', () => {
  it('under XDG_CACHE_HOME when it is an absolute path, else ~/.cache', () => {
    expect(userCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/rotor/playbook-checks');
    expect(userCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/[\\/]\.cache[\\/]rotor[\\/]playbook-checks$/);
    expect(userCacheDir({})).toMatch(/[\\/]\.cache[\\/]rotor[\\/]playbook-checks$/);
  });

  it('entries are files only their owner can read, in a directory per build', async () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, fixtures['minimal.yaml'] ?? '');
    await outcomeOf(file, openPlaybookCache(join(dir, 'cache'), 'b'.repeat(64)));
    const [entry = ''] = entries(join(dir, 'cache'), 'b'.repeat(64));
    expect(statSync(entry).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'cache', 'b'.repeat(64))).mode & 0o777).toBe(0o700);
  });
});
