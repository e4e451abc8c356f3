import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

/** Group and others may write (the sticky bit, as on /tmp, keeps them from moving what is not theirs). */
const writableByOthers = (mode: number) => (mode & 0o022) !== 0 && (mode & 0o1000) === 0;

/**
 * `dir`, created with mode 0700 if missing, as a real path (no symbolic links left in it), when only
 * this user can change what it holds: it is a directory this user owns that neither group nor others
 * may write, and every directory above it is owned by this user or root and not writable by others
 * (else one of them could swap `dir` for a directory of their own). Undefined otherwise, and on a
 * system without user ids: then nothing in it is to be trusted. `uid` is this user's id, null
 * where there are none (a parameter for tests).
 */
export function privateDir(dir: string, uid: number | null = process.getuid?.() ?? null): string | undefined {
  if (uid === null) return undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const real = realpathSync(dir);
    const own = lstatSync(real);
    if (!own.isDirectory() || own.uid !== uid || (own.mode & 0o022) !== 0) return undefined;
    for (let up = dirname(real); ; up = dirname(up)) {
      const above = lstatSync(up);
      if ((above.uid !== uid && above.uid !== 0) || writableByOthers(above.mode)) return undefined;
      if (dirname(up) === up) return real;
    }
  } catch {
    return undefined; // cannot be created or read: no cache
  }
}
