/**
 * The runner's own test: vitest on test/fixtures/runner must end non-zero and name each way a run
 * can look green while something did not run: a file that fails to load, a failing beforeAll, an
 * undeclared skip and todo, an unhandled rejection after passing tests, a test process that dies
 * mid-file or while loading a file, a file no project includes and a project that matches no file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';

const fixtures = 'test/fixtures/runner';

function run(...args: (string | NodeJS.ProcessEnv)[]): { code: number | null; out: string } {
  const files = args.filter((a) => typeof a === 'string');
  const env = Object.assign({}, ...args.filter((a) => typeof a !== 'string')) as NodeJS.ProcessEnv;
  const r = spawnSync(
    'npx',
    [
      'tsx',
      'dev/vitest-run.ts',
      '--declared',
      `${fixtures}/declared-skips.ts`,
      '--scope',
      `${fixtures}/`,
      '--config',
      `${fixtures}/vitest.config.ts`,
      ...files,
    ],
    { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env } },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('npm test runner (dev/vitest-run.ts)', () => {
  const full = run();

  it('fails on a load error, a failing hook and an undeclared skip or todo, naming each', () => {
    expect(full.code).toBe(1);
    expect(full.out).toContain(`file ${fixtures}/load-error.test.ts: fixture: this file fails to load`);
    expect(full.out).toContain(`file ${fixtures}/failing-hook.test.ts: fixture: beforeAll fails`);
    expect(full.out).toContain(
      `skipped ${fixtures}/failing-hook.test.ts > is skipped by vitest because its hook failed`,
    );
    expect(full.out).toContain(`skipped ${fixtures}/skips.test.ts > is skipped without a declaration`);
    expect(full.out).toContain(`todo ${fixtures}/skips.test.ts > is a todo without a declaration`);
    expect(full.out).not.toContain('is skipped with a declaration:');
  });

  it('fails on an unhandled rejection after passing tests, which the JSON report leaves out', () => {
    expect(full.out).toContain(
      `unhandled error in ${fixtures}/unhandled-rejection.test.ts: Error: fixture: rejected after the test passed`,
    );
    const alone = run(`${fixtures}/unhandled-rejection.test.ts`);
    expect(alone.code, alone.out).toBe(1);
    expect(alone.out).toMatch(/tests: 2 passed, 1 failed, 0 skipped \(declared\)/);
  });

  it('fails when a test process dies, mid-file or before its file registered a test', () => {
    expect(full.out).toContain(`pending ${fixtures}/worker-exits.test.ts > kills its own test process`);
    expect(full.out).toContain('Worker exited unexpectedly');
    expect(full.out).toContain(`file ${fixtures}/dies-before-reporting.test.ts: reported no test`);
    const alone = run(`${fixtures}/dies-before-reporting.test.ts`);
    expect(alone.code, alone.out).toBe(1);
  });

  it('fails on a test file in no project and a project that matches no file', () => {
    expect(full.out).toContain(`file ${fixtures}/outside/never-included.test.ts is in no project`);
    expect(full.out).toContain('project empty matches no file');
  });

  it('prints the slowest files with their times', () => {
    expect(full.out).toMatch(/slowest files:\n\s+\d+\.\d s {2}fixtures {2}test\/fixtures\/runner\//);
    expect(full.out).toMatch(/tests: 5 passed, 12 failed, 2 skipped \(declared\)/);
  });

  it("counts the CPU of a file's test process and the subprocesses it reaped", () => {
    const times = join(mkdtempSync(join(tmpdir(), 'rotor-times-')), 'times.json');
    const busy = run(`${fixtures}/busy-child.test.ts`, { ROTOR_TEST_TIMES: times });
    expect(busy.code, busy.out).toBe(0);
    expect(busy.out).toMatch(
      /most CPU \(.*\):\n\s+\d+\.\d s {2}fixtures {2}test\/fixtures\/runner\/busy-child\.test\.ts/,
    );
    const [entry] = z
      .array(z.object({ file: z.string(), cpuMs: z.number(), wallMs: z.number() }))
      .parse(JSON.parse(readFileSync(times, 'utf8')));
    expect(entry?.file).toBe(`${fixtures}/busy-child.test.ts`);
    expect(entry?.cpuMs).toBeGreaterThanOrEqual(500);
  });

  it('judges one vitest process per project, run at once, exactly as one full run', () => {
    const phased = run('--phased');
    expect(phased.code, phased.out).toBe(1);
    expect(phased.out).toContain(`file ${fixtures}/load-error.test.ts: fixture: this file fails to load`);
    expect(phased.out).toContain(`unhandled error in ${fixtures}/unhandled-rejection.test.ts`);
    expect(phased.out).toContain(`file ${fixtures}/outside/never-included.test.ts is in no project`);
    expect(phased.out).toContain('project empty matches no file');
    expect(phased.out).toMatch(/tests: 5 passed, 12 failed, 2 skipped \(declared\)/);
  });

  it('passes when only declared skips were skipped, and fails on the undeclared one alone', () => {
    const clean = run(`${fixtures}/clean.test.ts`);
    expect(clean.code, clean.out).toBe(0);
    expect(clean.out).toMatch(/tests: 1 passed, 0 failed, 1 skipped \(declared\)/);
    expect(run(`${fixtures}/skips.test.ts`).code).toBe(1);
  });
});
