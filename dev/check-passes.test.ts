import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkKey, passedBefore, rememberPass } from './check-passes';

describe("remembered passes of npm test's checks", () => {
  let repo: string;
  let passes: string;
  const lint = ['npx', 'eslint', '.'];
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'rotor-check-key-'));
    passes = mkdtempSync(join(tmpdir(), 'rotor-check-passes-'));
    git('init', '-q');
    writeFileSync(join(repo, '.gitignore'), 'ignored/\n');
    writeFileSync(join(repo, 'a.ts'), 'export const a = 1;\n');
    git('add', '.');
  });
  afterEach(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(passes, { recursive: true, force: true });
  });

  it('gives the same key for the same files and command, in another clone too', () => {
    const key = checkKey(repo, lint);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(checkKey(repo, lint)).toBe(key);
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'x');
    const clone = mkdtempSync(join(tmpdir(), 'rotor-check-clone-'));
    try {
      execFileSync('git', ['clone', '-q', repo, clone], { stdio: 'ignore' });
      expect(checkKey(clone, lint)).toBe(key);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });

  it('changes with any byte of a tracked file, a new untracked file, a deleted file or another command', () => {
    const key = checkKey(repo, lint);
    writeFileSync(join(repo, 'a.ts'), 'export const a = 2;\n');
    const edited = checkKey(repo, lint);
    expect(edited).not.toBe(key);
    writeFileSync(join(repo, 'b.ts'), 'export const b = 1;\n');
    const added = checkKey(repo, lint);
    expect(added).not.toBe(edited);
    rmSync(join(repo, 'a.ts'));
    expect(checkKey(repo, lint)).not.toBe(added);
    expect(checkKey(repo, ['npx', 'eslint', 'core'])).not.toBe(checkKey(repo, lint));
  });

  it('ignores what git ignores (build output, caches)', () => {
    const key = checkKey(repo, lint);
    execFileSync('mkdir', ['-p', join(repo, 'ignored')]);
    writeFileSync(join(repo, 'ignored', 'out.js'), 'x');
    expect(checkKey(repo, lint)).toBe(key);
  });

  it('has no key outside a git checkout, so the check runs', () => {
    expect(checkKey(passes, lint)).toBeUndefined();
  });

  it('remembers a pass under its name and key only', () => {
    const key = checkKey(repo, lint) ?? '';
    expect(passedBefore(passes, 'lint', key)).toBeUndefined();
    rememberPass(passes, 'lint', key, 104.2);
    const pass = passedBefore(passes, 'lint', key);
    expect(pass?.seconds).toBe(104.2);
    expect(Date.parse(pass?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(passedBefore(passes, 'typecheck', key)).toBeUndefined();
    writeFileSync(join(repo, 'a.ts'), 'export const a = 3;\n');
    expect(passedBefore(passes, 'lint', checkKey(repo, lint) ?? '')).toBeUndefined();
  });

  it('takes a damaged entry for no pass', () => {
    const key = checkKey(repo, lint) ?? '';
    writeFileSync(join(passes, `lint-${key}.json`), '{"at": 1');
    expect(passedBefore(passes, 'lint', key)).toBeUndefined();
  });
});
