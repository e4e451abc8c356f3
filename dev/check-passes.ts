/**
 * Passes of `npm test`'s static checks (typecheck, lint, format), remembered by what they read. A
 * check's answer is a function of the checkout's files, the installed packages and Node: the key
 * hashes the content of every file git tracks or would track (untracked, not ignored), the lock
 * file among them, with Node's version and the check's command line. A check that passed on the
 * same key passes again, so a fresh clone of a commit a checkout already checked skips it; any
 * changed byte anywhere runs it. Failures are never remembered, nor passes over files edited while
 * the checks ran. Kept outside the checkout
 * (`<cache>/check-passes/`), so every clone of the machine shares them.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a remembered pass records: when it ran and how long it took then. */
export interface RememberedPass {
  at: string;
  seconds: number;
}

/**
 * A digest of what the checks read in `root`: the name and content of every file git tracks or
 * would track. Undefined when `root` is not a git checkout (nothing lists its files, so the checks
 * always run). Taken once for all the checks of a run, and once more after them.
 */
export function filesDigest(root: string): string | undefined {
  let listed: string;
  try {
    listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
  const hash = createHash('sha256');
  for (const file of [...new Set(listed.split('\0').filter(Boolean))].sort()) {
    const path = join(root, file);
    // A tracked file deleted from the work tree is part of the digest as missing.
    hash
      .update(`${file}\0`)
      .update(existsSync(path) ? readFileSync(path) : '\0missing\0')
      .update('\0');
  }
  return hash.digest('hex');
}

/** The key of a check run with `command` on the files of `digest` (from {@link filesDigest}), under this Node. */
export function checkKey(digest: string, command: readonly string[]): string {
  return createHash('sha256')
    .update(`node ${process.version}\0`)
    .update(`${command.join('\0')}\0\0`)
    .update(digest)
    .digest('hex');
}

const entry = (dir: string, name: string, key: string): string => join(dir, `${name}-${key}.json`);

/** The pass `name` had on `key`, if one was remembered in `dir`. */
export function passedBefore(dir: string, name: string, key: string): RememberedPass | undefined {
  try {
    const kept = JSON.parse(readFileSync(entry(dir, name, key), 'utf8')) as Partial<RememberedPass>;
    return typeof kept.at === 'string' && typeof kept.seconds === 'number'
      ? { at: kept.at, seconds: kept.seconds }
      : undefined;
  } catch {
    return undefined;
  }
}

/** A check that passed, under the key it ran with. */
export interface Pass {
  name: string;
  key: string;
  seconds: number;
}

/**
 * Remembers `passed` in `dir`, unless the files of `root` changed since `digest` was taken before
 * the checks: a file edited while they ran may have been read in either version, so no key names
 * what they checked. True when the passes were kept.
 */
export function rememberPasses(dir: string, root: string, digest: string, passed: readonly Pass[]): boolean {
  if (passed.length === 0 || filesDigest(root) !== digest) return false;
  mkdirSync(dir, { recursive: true });
  for (const { name, key, seconds } of passed) {
    const file = entry(dir, name, key);
    const pass: RememberedPass = { at: new Date().toISOString(), seconds };
    // Written whole and renamed, so a reader never sees half an entry.
    writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(pass));
    renameSync(`${file}.${process.pid}.tmp`, file);
  }
  return true;
}
