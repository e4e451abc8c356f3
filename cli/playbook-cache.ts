/**
 * The CLI's per-user cache of playbook validation outcomes. Validating a playbook is a pure function
 * of the file's bytes and of the code that validates it: the same bytes checked by the same build of
 * the CLI give the same playbook, or the same problems, every time (core/playbook/ reads no clock,
 * environment or other file). So an outcome is kept under the SHA-256 of the bytes, in a directory
 * of the build's own hash (cli/build-hash.ts), and a later run of the same CLI on the same bytes
 * reads it instead of loading zod and building the schema, which is most of what `rotor validate`
 * and `rotor status` cost before their answer (docs/benchmarks.md). A changed byte or another build
 * is a miss, validated for real. The cache never gives authority: the worker validates every
 * playbook again on its side (the `checkPlaybook` activity, the controller's parse), whatever the CLI
 * concluded.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Playbook } from '../core/playbook/schema';
import { cliBuildHash } from './build-hash';
import { privateDir } from './private-dir';
import { sha256 } from './sha256';

/** A problem as kept: its file is the name the CLI was given, added back on every read. */
export interface CachedProblem {
  path: string;
  message: string;
}

/** What validating a file's bytes gave: the playbook (defaults applied, as zod returned it) or every problem. */
export type CachedOutcome = { playbook: Playbook } | { problems: CachedProblem[] };

/** A store of outcomes for one build of the CLI, by the SHA-256 (hex) of a playbook file's bytes. */
export interface PlaybookCache {
  /** The outcome kept for these bytes; undefined when there is none, or it is damaged or another build's. */
  get(bytesHash: string): CachedOutcome | undefined;
  /** Keeps an outcome for these bytes (atomically: a reader sees the whole entry or none). */
  put(bytesHash: string, outcome: CachedOutcome): void;
}

/** A build's entries older than this (by its directory's last write) go when a new build writes its first. */
const keepOtherBuildsMs = 7 * 86_400_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Whether an entry's outcome has the shape of a CachedOutcome. Checked by hand, not with zod: not
 * loading zod is what the cache is for. The entry's checksum has already matched, so this guards
 * against an entry written by another version of this file, not against its content.
 */
function isOutcome(v: unknown): v is CachedOutcome {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1) return false;
  if (keys[0] === 'playbook') return isObject(v.playbook) && !Array.isArray(v.playbook);
  return (
    Array.isArray(v.problems) &&
    v.problems.every(
      (p) => isObject(p) && typeof p.path === 'string' && typeof p.message === 'string' && Object.keys(p).length === 2,
    )
  );
}

/**
 * The cache of `build` in `root`, a directory only this user can write (cli/private-dir.ts checks
 * it, and the caller passes the real path it returns). An entry is one file,
 * `<root>/<build>/<bytes hash>.json`: the SHA-256 of its body, a newline, then the body, JSON with
 * the build, the bytes' hash and the outcome. An entry whose checksum, build or hash does not match,
 * or that cannot be parsed, is ignored, and the caller's fresh outcome replaces it.
 */
export function openPlaybookCache(root: string, build: string): PlaybookCache {
  const dir = join(root, build);
  const entry = (bytesHash: string) => join(dir, `${bytesHash}.json`);
  return {
    get(bytesHash) {
      let text: string;
      try {
        text = readFileSync(entry(bytesHash), 'utf8');
      } catch {
        return undefined;
      }
      const newline = text.indexOf('\n');
      const body = text.slice(newline + 1);
      if (newline !== 64 || text.slice(0, newline) !== sha256(body)) return undefined;
      try {
        const kept: unknown = JSON.parse(body);
        if (!isObject(kept) || kept.build !== build || kept.bytes !== bytesHash) return undefined;
        return isOutcome(kept.outcome) ? kept.outcome : undefined;
      } catch {
        return undefined;
      }
    },
    put(bytesHash, outcome) {
      try {
        // The build's first entry: its directory is new, and other builds' old ones go.
        if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) pruneOtherBuilds(root, build);
        const body = JSON.stringify({ build, bytes: bytesHash, outcome });
        const partial = `${entry(bytesHash)}.${process.pid}.tmp`;
        writeFileSync(partial, `${sha256(body)}\n${body}`, { mode: 0o600 });
        renameSync(partial, entry(bytesHash)); // whole or not at all, when two runs write at once
      } catch {
        // A cache that cannot be written leaves the CLI as it was: it validates every time.
      }
    },
  };
}

/** Removes the entries of builds not written to for a week: each rebuild of the CLI starts a new directory. */
function pruneOtherBuilds(root: string, build: string): void {
  for (const name of readdirSync(root)) {
    if (name === build || !/^[0-9a-f]{64}$/.test(name)) continue;
    const other = join(root, name);
    if (Date.now() - statSync(other).mtimeMs > keepOtherBuildsMs) rmSync(other, { recursive: true, force: true });
  }
}

/** `$XDG_CACHE_HOME/rotor/playbook-checks`, or `~/.cache/rotor/playbook-checks`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'rotor', 'playbook-checks');
}

let userCache: PlaybookCache | undefined | null = null;

/**
 * This user's cache for the running CLI build, or undefined, when the CLI runs from its TypeScript
 * sources (no build to key on), `ROTOR_PLAYBOOK_CACHE=off`, or the directory is not private to this
 * user (another user who could write it could make the CLI print a verdict of theirs). Without a
 * cache the CLI validates every file, as it always did.
 */
export function userPlaybookCache(): PlaybookCache | undefined {
  if (userCache !== null) return userCache;
  const build = process.env.ROTOR_PLAYBOOK_CACHE === 'off' ? undefined : cliBuildHash();
  const root = build === undefined ? undefined : privateDir(userCacheDir());
  userCache = build !== undefined && root !== undefined ? openPlaybookCache(root, build) : undefined;
  return userCache;
}
