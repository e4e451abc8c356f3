/**
 * Judges vitest's JSON report honestly: a file that failed to load, a failing hook (vitest marks the
 * file failed and its tests skipped), a file that registered no test, a failed test and a skipped or todo test that is not declared in
 * test/declared-skips.ts each count as a failure, named in the output.
 */
import { relative } from 'node:path';
import { z } from 'zod';

/** One test allowed to be skipped, with the reason; all of them live in test/declared-skips.ts. */
export interface DeclaredSkip {
  /** Test file, relative to the repository root. */
  file: string;
  /** The test's full name as vitest prints it (describe titles and test title joined by spaces). */
  test: string;
  /** Why skipping it is acceptable. */
  reason: string;
}

const assertionSchema = z.object({
  fullName: z.string(),
  status: z.string(),
  failureMessages: z.array(z.string()).default([]),
});

/** The part of vitest's `--reporter=json` output the verdict reads. */
export const vitestReportSchema = z.object({
  testResults: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      message: z.string().default(''),
      assertionResults: z.array(assertionSchema),
    }),
  ),
});
export type VitestReport = z.infer<typeof vitestReportSchema>;

/** What `npm test` concludes from one report. */
export interface Verdict {
  passed: number;
  /** Declared skips that were skipped. */
  skipped: number;
  /** One line per failure: failed file, failed test, undeclared skip or stale declaration. */
  failures: string[];
}

const firstLine = (s: string): string => s.split('\n')[0] ?? '';

/** Counts the report against the declared skips; `root` makes file names relative. */
export function judge(report: VitestReport, declared: readonly DeclaredSkip[], root: string): Verdict {
  const verdict: Verdict = { passed: 0, skipped: 0, failures: [] };
  const used = new Set<DeclaredSkip>();
  for (const file of report.testResults) {
    const name = relative(root, file.name);
    // A failed file whose tests did not fail itself: a load error or a failing hook.
    const testFailed = file.assertionResults.some((t) => t.status === 'failed');
    if (file.status === 'failed' && !testFailed) {
      verdict.failures.push(`file ${name}: ${firstLine(file.message) || 'failed without a failed test'}`);
    } else if (file.assertionResults.length === 0) {
      // vitest calls a file "passed" when its process died before it registered a test.
      verdict.failures.push(`file ${name}: reported no test (its test process died while loading it, or it has none)`);
    }
    for (const t of file.assertionResults) {
      if (t.status === 'passed') verdict.passed++;
      else if (t.status === 'failed') {
        verdict.failures.push(`test ${name} > ${t.fullName}: ${firstLine(t.failureMessages[0] ?? '')}`);
      } else {
        const ok = declared.find((d) => d.file === name && d.test === t.fullName);
        if (ok) {
          used.add(ok);
          verdict.skipped++;
        } else
          verdict.failures.push(
            `${t.status} ${name} > ${t.fullName}: not declared in test/declared-skips.ts (a skip needs a reason there)`,
          );
      }
    }
  }
  const ran = new Set(report.testResults.map((f) => relative(root, f.name)));
  for (const d of declared) {
    if (ran.has(d.file) && !used.has(d)) {
      verdict.failures.push(`declared skip ${d.file} > ${d.test} was not skipped: remove it from the declarations`);
    }
  }
  return verdict;
}
