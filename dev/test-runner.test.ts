/**
 * The runner's own test: vitest on test/fixtures/runner (a file that fails to load, a failing
 * beforeAll, an undeclared skip and todo, a declared skip) must end non-zero and name each problem.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const fixtures = 'test/fixtures/runner';

function run(...files: string[]): { code: number | null; out: string } {
  const r = spawnSync(
    'npx',
    [
      'tsx',
      'dev/vitest-run.ts',
      '--declared',
      `${fixtures}/declared-skips.ts`,
      '--config',
      `${fixtures}/vitest.config.ts`,
      ...files,
    ],
    { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('npm test runner (dev/vitest-run.ts)', () => {
  it('fails on a load error, a failing hook and an undeclared skip or todo, naming each', () => {
    const { code, out } = run();
    expect(code).toBe(1);
    expect(out).toContain(`file ${fixtures}/load-error.test.ts: fixture: this file fails to load`);
    expect(out).toContain(`file ${fixtures}/failing-hook.test.ts: fixture: beforeAll fails`);
    expect(out).toContain(`skipped ${fixtures}/failing-hook.test.ts > is skipped by vitest because its hook failed`);
    expect(out).toContain(`skipped ${fixtures}/skips.test.ts > is skipped without a declaration`);
    expect(out).toContain(`todo ${fixtures}/skips.test.ts > is a todo without a declaration`);
    expect(out).not.toContain('is skipped with a declaration:');
    expect(out).toMatch(/tests: 2 passed, 5 failed, 2 skipped \(declared\)/);
  });

  it('passes when only declared skips were skipped, and fails on the undeclared one alone', () => {
    const clean = run(`${fixtures}/clean.test.ts`);
    expect(clean.code, clean.out).toBe(0);
    expect(clean.out).toMatch(/tests: 1 passed, 0 failed, 1 skipped \(declared\)/);
    expect(run(`${fixtures}/skips.test.ts`).code).toBe(1);
  });
});
