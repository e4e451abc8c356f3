/**
 * Passes of `npm test`'s static checks (typecheck, lint, format), remembered by what they read. A
 * check's answer is a function of the checkout's files, the installed packages and Node: the key
 * hashes the content of every file git tracks or would track (untracked, not ignored), the lock
 * file among them, with Node's version and the check's command line. A check that passed on the
 * same key passes again, so a fresh clone of a commit a checkout already checked skips it; any
 * changed byte anywhere runs it. Failures are never remembered. Kept outside the checkout
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
 * The key of a check run in `root` with `command`, or undefined when `root` is not a git checkout
 * (nothing lists its files, so the check always runs).
 */
export function checkKey(root: string, command: readonly string[]): string | undefined {
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
  const hash = createHash('sha256')
    .update(`node ${process.version}\0`)
    .update(`${command.join('\0')}\0\0`);
  for (const file of [...new Set(listed.split('\0').filter(Boolean))].sort()) {
    const path = join(root, file);
    // A tracked file deleted from the work tree is part of the key as missing.
    hash
      .update(`${file}\0`)
      .update(existsSync(path) ? readFileSync(path) : '\0missing\0')
      .update('\0');
  }
  return hash.digest('hex');
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

/** Remembers that `name` passed on `key` (written atomically: a reader never sees half an entry). */
export function rememberPass(dir: string, name: string, key: string, seconds: number): void {
  mkdirSync(dir, { recursive: true });
  const file = entry(dir, name, key);
  const pass: RememberedPass = { at: new Date().toISOString(), seconds };
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(pass));
  renameSync(`${file}.${process.pid}.tmp`, file);
}
