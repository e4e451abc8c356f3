/**
 * Runs vitest and judges the run honestly: exit 0 only when tests passed, vitest itself exited 0,
 * nothing failed to load, no hook failed, nothing was skipped without a declaration, no unhandled
 * error occurred and every test file of the repository reported (or is declared left out).
 * `npm test` uses it; run alone (`tsx dev/vitest-run.ts [--declared file] [--scope dir] [vitest args…]`)
 * it is what the runner's own test drives on test/fixtures/runner; `--phased` runs one vitest
 * process per project at once and judges them as one run, as `npm test` does.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { census, ledgerSchema } from './test-census';
import type { Census, DeclaredNotRun, FileTime, Ledger } from './test-census';
import { judge, vitestReportSchema } from './test-verdict';
import type { DeclaredSkip, Verdict, VitestReport } from './test-verdict';

const declarationsSchema = z.object({
  // Every declaration needs a non-empty reason.
  declaredSkips: z.array(z.object({ file: z.string(), test: z.string(), reason: z.string().min(1) })),
  declaredNotRun: z.array(z.object({ path: z.string(), reason: z.string().min(1) })).default([]),
});

/** Where skips and left-out files are declared unless `--declared` names another file. */
export const declaredSkipsFile = 'test/declared-skips.ts';

const ledgerReporter = join(import.meta.dirname, 'test-ledger-reporter.ts');

async function loadDeclarations(
  file: string,
): Promise<{ declaredSkips: DeclaredSkip[]; declaredNotRun: DeclaredNotRun[] }> {
  const mod: unknown = await import(pathToFileURL(resolve(file)).href);
  const parsed = declarationsSchema.safeParse(mod);
  if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The project names a vitest config declares ('' for a config without projects). */
async function projectNames(config: string): Promise<string[]> {
  const mod = (await import(pathToFileURL(resolve(config)).href)) as {
    default?: { test?: { projects?: { test?: { name?: string } }[] } };
  };
  const projects = mod.default?.test?.projects;
  return projects ? projects.map((p) => p.test?.name ?? '') : [''];
}

/** Every `*.test.ts` git tracks, or would track (untracked and not ignored), under `scope`. */
function repositoryTestFiles(scope: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.test.ts'], {
    encoding: 'utf8',
  });
  return [...new Set(out.split('\n').filter((f) => f && f.startsWith(scope)))];
}

/**
 * `vitest list` for the files a run with `args` selects. `--json` takes an optional path, so it
 * comes last: before a file filter (`npm test -- test/x.test.ts`) it wrote the list over that file.
 */
export const vitestListArgs = (args: readonly string[]): string[] => ['list', ...args, '--filesOnly', '--json'];

function listFiles(args: string[]): { file: string; project: string }[] {
  const out = execFileSync('npx', ['vitest', ...vitestListArgs(args)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listed = z.array(z.object({ file: z.string(), projectName: z.string().optional() })).parse(JSON.parse(out));
  return listed.map((l) => ({ file: l.file, project: l.projectName ?? '' }));
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.on('error', fail);
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

/** Options of the runner itself; everything else goes to vitest. */
export interface RunOptions {
  declared?: string;
  /** Only test files below this folder count for the full-run check (the fixtures use their own folder). */
  scope?: string;
  env?: NodeJS.ProcessEnv;
}

/** What one run concludes. */
export interface RunResult extends Verdict {
  notRun: Census['notRun'];
  slowest: Census['slowest'];
  costliest: Census['costliest'];
}

/** One vitest process's report and ledger; undefined when it wrote none (it crashed before running). */
interface PhaseOutput {
  exitCode: number;
  report: VitestReport;
  ledger: Ledger;
}

async function runPhase(args: string[], env: NodeJS.ProcessEnv): Promise<PhaseOutput | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-test-'));
  const report = join(dir, 'vitest.json');
  const ledgerFile = join(dir, 'ledger.json');
  const exitCode = await runProcess(
    'npx',
    [
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      `--reporter=${ledgerReporter}`,
      ...args,
    ],
    { ...env, ROTOR_TEST_LEDGER: ledgerFile },
  );
  try {
    return {
      exitCode,
      report: vitestReportSchema.parse(JSON.parse(readFileSync(report, 'utf8'))),
      ledger: ledgerSchema.parse(JSON.parse(readFileSync(ledgerFile, 'utf8'))),
    };
  } catch {
    return undefined;
  }
}

/**
 * One vitest process of a phased run: its arguments (usually `--project` filters) and what must be
 * ready before it starts (the stack, say). Phases start as soon as they are ready and may overlap.
 */
export interface Phase {
  args: string[];
  ready?: Promise<unknown>;
}

/** Runs vitest with `args`; undefined when vitest wrote no report (it crashed before running). */
export async function runVitest(args: string[], o: RunOptions = {}): Promise<RunResult | undefined> {
  return runPhases([{ args }], { ...o, full: isFullRun(args) });
}

/** Whether a run with `args` is a full run: anything beyond `--config <file>` narrows it, and then only the selected files must report. */
export function isFullRun(args: readonly string[]): boolean {
  const at = args.indexOf('--config');
  return args.filter((_, i) => at < 0 || (i !== at && i !== at + 1)).length === 0;
}

/**
 * Runs several vitest processes and judges them as one run. With `full`, the phases together must
 * cover every project and every test file of the repository, as a single full run must.
 */
export async function runPhases(
  phases: readonly Phase[],
  o: RunOptions & { full: boolean },
): Promise<RunResult | undefined> {
  const declarations = await loadDeclarations(o.declared ?? declaredSkipsFile);
  const first = phases[0]?.args ?? [];
  const at = first.indexOf('--config');
  const config = at >= 0 ? (first[at + 1] ?? 'vitest.config.ts') : 'vitest.config.ts';
  const listed = phases.flatMap((p) => listFiles(p.args));
  // Settle every phase before judging or failing: no vitest process is left running behind an error.
  const settled = await Promise.allSettled(
    phases.map(async (p) => {
      await p.ready;
      return runPhase(p.args, o.env ?? process.env);
    }),
  );
  const rejected = settled.find((x) => x.status === 'rejected');
  if (rejected) throw rejected.reason;
  const outputs = settled.map((x) => (x.status === 'fulfilled' ? x.value : undefined));
  if (outputs.some((x) => x === undefined)) return undefined;
  const done = outputs as PhaseOutput[];
  const root = process.cwd();
  const report: VitestReport = { testResults: done.flatMap((x) => x.report.testResults) };
  const ledger: Ledger = {
    reason: ['interrupted', 'failed'].find((r) => done.some((x) => x.ledger.reason === r)) ?? 'passed',
    modules: done.flatMap((x) => x.ledger.modules),
    unhandledErrors: done.flatMap((x) => x.ledger.unhandledErrors),
  };
  const verdict = judge(report, declarations.declaredSkips, root);
  const c = census({
    root,
    ledger,
    listed,
    ...(o.full
      ? {
          full: {
            projects: await projectNames(config),
            testFiles: repositoryTestFiles(o.scope ?? ''),
            declaredNotRun: declarations.declaredNotRun,
          },
        }
      : {}),
  });
  const failures = [...verdict.failures, ...c.failures];
  const exitCode = done.find((x) => x.exitCode !== 0)?.exitCode ?? 0;
  if (exitCode !== 0 && failures.length === 0) {
    failures.push(`vitest exited with code ${exitCode} although every reported test passed (see its output above)`);
  }
  const timesFile = (o.env ?? process.env)['ROTOR_TEST_TIMES'];
  if (timesFile) writeFileSync(timesFile, JSON.stringify(c.times, null, 1));
  return { ...verdict, failures, notRun: c.notRun, slowest: c.slowest, costliest: c.costliest };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A titled list of files, each with the milliseconds `ms` picks, in seconds; nothing when empty. */
function printFiles(title: string, files: readonly FileTime[], ms: (t: FileTime) => number): void {
  if (files.length === 0) return;
  const lines = files.map((t) => `  ${seconds(ms(t)).padStart(8)}  ${t.project || 'default'}  ${t.file}\n`);
  process.stderr.write(`\n${title}:\n${lines.join('')}`);
}

/** Prints the slowest files, the files left out and each failure by name; true when the run passed. */
export function printVerdict(v: RunResult, extraFailures = 0): boolean {
  printFiles('slowest files', v.slowest, (t) => t.wallMs);
  printFiles("most CPU (the file's test process and the subprocesses it reaped)", v.costliest, (t) => t.cpuMs ?? 0);
  if (v.notRun.length > 0) {
    process.stderr.write(`\nnot run (declared):\n${v.notRun.map((n) => `  - ${n.file}: ${n.reason}\n`).join('')}`);
  }
  if (v.failures.length > 0) {
    process.stderr.write(`\n${v.failures.length} failure(s):\n${v.failures.map((f) => `  ✗ ${f}\n`).join('')}`);
  }
  const failed = v.failures.length + extraFailures;
  process.stdout.write(`tests: ${v.passed} passed, ${failed} failed, ${v.skipped} skipped (declared)\n`);
  return failed === 0 && v.passed > 0;
}

function takeOption(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const declared = takeOption(args, '--declared');
  const scope = takeOption(args, '--scope');
  const phased = args.indexOf('--phased');
  if (phased >= 0) args.splice(phased, 1);
  const o = { ...(declared ? { declared } : {}), ...(scope ? { scope } : {}) };
  // --phased: one vitest process per project, at once, judged as one full run (as `npm test` does).
  const v =
    phased >= 0
      ? await runPhases(
          (await projectNames(takeOption([...args], '--config') ?? 'vitest.config.ts')).map((p) => ({
            args: [...args, '--project', p],
          })),
          { ...o, full: true },
        )
      : await runVitest(args, o);
  if (!v) {
    process.stderr.write('vitest wrote no report: it crashed before running tests\n');
    return 1;
  }
  return printVerdict(v) ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`vitest-run: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
