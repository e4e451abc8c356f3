/**
 * The second half of an honest verdict (dev/test-verdict.ts judges the tests that reported): which
 * files should have run and did not. A test file in no project, a project that matches no file, a
 * file whose test process died before it reported, an unhandled error (vitest's JSON report leaves
 * those out) and an interrupted run each count as a failure, named.
 */
import { relative } from 'node:path';
import { z } from 'zod';

/** What dev/test-ledger-reporter.ts writes at the end of a run. */
export const ledgerSchema = z.object({
  reason: z.string(),
  modules: z.array(
    z.object({
      file: z.string(),
      project: z.string(),
      state: z.string(),
      wallMs: z.number(),
      // CPU of the file's test process and the subprocesses it reaped (test/cpu-meter.ts).
      cpuMs: z.number().optional(),
    }),
  ),
  unhandledErrors: z.array(
    z.object({ message: z.string(), file: z.string().optional(), testId: z.string().optional() }),
  ),
});
export type Ledger = z.infer<typeof ledgerSchema>;

/** Test files `npm test` deliberately leaves out, each with its reason (test/declared-skips.ts). */
export interface DeclaredNotRun {
  /** A path relative to the repository root; a trailing `/` covers every file below it. */
  path: string;
  reason: string;
}

export interface CensusInput {
  root: string;
  ledger: Ledger;
  /** Files vitest selected for this run, per project (`vitest list --filesOnly --json`). */
  listed: readonly { file: string; project: string }[];
  /**
   * For a full run: the project names the config declares and every test file of the repository
   * (relative paths). Undefined for a run filtered to some files or projects.
   */
  full?: { projects: readonly string[]; testFiles: readonly string[]; declaredNotRun: readonly DeclaredNotRun[] };
}

/** What one test file took: wall time, and CPU when it was measured. */
export interface FileTime {
  file: string;
  project: string;
  wallMs: number;
  cpuMs?: number;
}

export interface Census {
  failures: string[];
  /** Files left out on purpose, with the declared reason. */
  notRun: { file: string; reason: string }[];
  /** The ten slowest files, slowest first. */
  slowest: FileTime[];
  /** Every file that reported, in the order vitest reported them. */
  times: FileTime[];
  /** The ten files that cost the most CPU in their own test process, costliest first. */
  costliest: FileTime[];
}

const covers = (d: DeclaredNotRun, file: string): boolean =>
  d.path.endsWith('/') ? file.startsWith(d.path) : file === d.path;

/** Compares what should have run with what reported. */
export function census(input: CensusInput): Census {
  const rel = (f: string): string => relative(input.root, f);
  const out: Census = { failures: [], notRun: [], slowest: [], costliest: [], times: [] };
  const reported = new Set(input.ledger.modules.map((m) => rel(m.file)));
  const listed = new Set(input.listed.map((l) => rel(l.file)));

  if (input.ledger.reason === 'interrupted') out.failures.push('the run was interrupted before every file ran');
  for (const l of input.listed) {
    const file = rel(l.file);
    if (!reported.has(file)) {
      out.failures.push(
        `file ${file} (project ${l.project || 'default'}) never reported: its test process died or the run stopped before it (see vitest's output above)`,
      );
    }
  }
  for (const e of input.ledger.unhandledErrors) {
    const where = e.file ? ` in ${rel(e.file)}` : '';
    out.failures.push(`unhandled error${where}: ${e.message} (vitest exits 1 on it; its JSON report leaves it out)`);
  }
  if (input.full) {
    const withFiles = new Set(input.listed.map((l) => l.project));
    for (const p of input.full.projects) {
      if (!withFiles.has(p))
        out.failures.push(`project ${p} matches no file: fix its include globs in the vitest config`);
    }
    const used = new Set<DeclaredNotRun>();
    for (const file of input.full.testFiles) {
      if (listed.has(file)) continue;
      const declared = input.full.declaredNotRun.find((d) => covers(d, file));
      if (declared) {
        used.add(declared);
        out.notRun.push({ file, reason: declared.reason });
      } else {
        out.failures.push(
          `file ${file} is in no project: add it to a project's include in the vitest config, or declare why not in test/declared-skips.ts`,
        );
      }
    }
    for (const d of input.full.declaredNotRun) {
      if (!used.has(d)) out.failures.push(`declared not-run ${d.path} matches no test file left out: remove it`);
    }
  }
  const times = input.ledger.modules.map((m): FileTime => ({
    file: rel(m.file),
    project: m.project,
    wallMs: m.wallMs,
    ...(m.cpuMs !== undefined ? { cpuMs: m.cpuMs } : {}),
  }));
  out.times = times;
  out.slowest = [...times].sort((a, b) => b.wallMs - a.wallMs).slice(0, 10);
  out.costliest = times
    .filter((t) => t.cpuMs !== undefined)
    .sort((a, b) => (b.cpuMs ?? 0) - (a.cpuMs ?? 0))
    .slice(0, 10);
  return out;
}
