/**
 * The cache of playbook outcomes is trusted only in a directory no other user can change
 * (cli/private-dir.ts): created 0700, refused when someone else owns it, when group or others may
 * write it, or when a directory above it lets others swap it.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateDir } from './private-dir';

let base: string;
const me = process.getuid?.() ?? 0;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'rotor-private-dir-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('privateDir', () => {
  it('creates a missing directory, and those above it, with mode 0700', () => {
    const dir = join(base, 'cache', 'rotor', 'playbook-checks');
    expect(privateDir(dir, me)).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(base, 'cache')).mode & 0o777).toBe(0o700);
  });

  it('accepts an existing directory of this user that no one else may write', () => {
    const dir = join(base, 'd');
    mkdirSync(dir, { mode: 0o755 });
    expect(privateDir(dir, me)).toBe(dir);
  });

  it('refuses a directory owned by another user', () => {
    const dir = join(base, 'd');
    mkdirSync(dir, { mode: 0o700 });
    expect(privateDir(dir, me + 1)).toBeUndefined();
  });

  it('refuses a directory group or others may write', () => {
    const dir = join(base, 'd');
    mkdirSync(dir, { mode: 0o700 });
    for (const mode of [0o777, 0o720, 0o702, 0o1777]) {
      chmodSync(dir, mode);
      expect(privateDir(dir, me), mode.toString(8)).toBeUndefined();
    }
  });

  it('refuses a directory inside one that others may write, unless that one is sticky as /tmp is', () => {
    const open = join(base, 'open');
    mkdirSync(join(open, 'd'), { recursive: true, mode: 0o700 });
    chmodSync(open, 0o777);
    expect(privateDir(join(open, 'd'), me)).toBeUndefined();
    chmodSync(open, 0o1777);
    expect(privateDir(join(open, 'd'), me)).toBe(join(open, 'd'));
  });

  it('answers with the real path, checking the directories the links lead to', () => {
    const open = join(base, 'open');
    mkdirSync(join(open, 'd'), { recursive: true, mode: 0o700 });
    chmodSync(open, 0o777);
    symlinkSync(join(open, 'd'), join(base, 'link'));
    expect(privateDir(join(base, 'link'), me)).toBeUndefined();
    chmodSync(open, 0o755);
    expect(privateDir(join(base, 'link'), me)).toBe(join(open, 'd'));
  });

  it('refuses a path that is a file, and answers undefined without a user id', () => {
    expect(privateDir(base, null)).toBeUndefined();
    const file = join(base, 'f');
    symlinkSync('/dev/null', file);
    expect(privateDir(file, me)).toBeUndefined();
  });
});
