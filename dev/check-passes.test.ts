import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkKey, filesDigest, passedBefore, rememberPasses } from './check-passes';

describe("remembered passes of npm test's checks", () => {
  let repo: string;
  let passes: string;
  const lint = ['npx', 'eslint', '.'];
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  /** The key of `command` on the files of `root` as they are now. */
  const keyOf = (root: string, command: readonly string[] = lint) => checkKey(filesDigest(root) ?? '', command);

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
    expect(filesDigest(repo)).toMatch(/^[0-9a-f]{64}$/);
    const key = keyOf(repo);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(keyOf(repo)).toBe(key);
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'x');
    const clone = mkdtempSync(join(tmpdir(), 'rotor-check-clone-'));
    try {
      execFileSync('git', ['clone', '-q', repo, clone], { stdio: 'ignore' });
      expect(keyOf(clone)).toBe(key);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });

  it('changes with any byte of a tracked file, a new untracked file, a deleted file or another command', () => {
    const key = keyOf(repo);
    writeFileSync(join(repo, 'a.ts'), 'export const a = 2;\n');
    const edited = keyOf(repo);
    expect(edited).not.toBe(key);
    writeFileSync(join(repo, 'b.ts'), 'export const b = 1;\n');
    const added = keyOf(repo);
    expect(added).not.toBe(edited);
    rmSync(join(repo, 'a.ts'));
    expect(keyOf(repo)).not.toBe(added);
    expect(keyOf(repo, ['npx', 'eslint', 'core'])).not.toBe(keyOf(repo));
  });

  it('ignores what git ignores (build output, caches)', () => {
    const key = keyOf(repo);
    execFileSync('mkdir', ['-p', join(repo, 'ignored')]);
    writeFileSync(join(repo, 'ignored', 'out.js'), 'x');
    expect(keyOf(repo)).toBe(key);
  });

  it('has no digest outside a git checkout, so the checks run', () => {
    expect(filesDigest(passes)).toBeUndefined();
  });

  it('remembers a pass under its name and key only', () => {
    const digest = filesDigest(repo) ?? '';
    const key = checkKey(digest, lint);
    expect(passedBefore(passes, 'lint', key)).toBeUndefined();
    expect(rememberPasses(passes, repo, digest, [{ name: 'lint', key, seconds: 104.2 }])).toBe(true);
    const pass = passedBefore(passes, 'lint', key);
    expect(pass?.seconds).toBe(104.2);
    expect(Date.parse(pass?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(passedBefore(passes, 'typecheck', key)).toBeUndefined();
    writeFileSync(join(repo, 'a.ts'), 'export const a = 3;\n');
    expect(passedBefore(passes, 'lint', keyOf(repo))).toBeUndefined();
  });

  it('remembers nothing when a file changed while the checks ran', () => {
    const digest = filesDigest(repo) ?? '';
    const key = checkKey(digest, lint);
    writeFileSync(join(repo, 'a.ts'), 'export const a = 4;\n');
    expect(rememberPasses(passes, repo, digest, [{ name: 'lint', key, seconds: 1 }])).toBe(false);
    expect(passedBefore(passes, 'lint', key)).toBeUndefined();
  });

  it('takes a damaged entry for no pass', () => {
    const key = keyOf(repo);
    writeFileSync(join(passes, `lint-${key}.json`), '{"at": 1');
    expect(passedBefore(passes, 'lint', key)).toBeUndefined();
  });
});
