/**
 * Runs vitest with a JSON report and judges it with {@link judge}: exit 0 only when tests passed and
 * nothing failed to load, no hook failed and nothing was skipped without a declaration. `npm test`
 * uses it; run alone (`tsx dev/vitest-run.ts [--declared file] [vitest args…]`) it is what the
 * runner's own test drives on test/fixtures/runner.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { judge, vitestReportSchema } from './test-verdict';
import type { DeclaredSkip, Verdict } from './test-verdict';

// Every declared skip needs a non-empty reason.
const declaredSkipsSchema = z.array(z.object({ file: z.string(), test: z.string(), reason: z.string().min(1) }));

/** Where skips are declared unless `--declared` names another file. */
export const declaredSkipsFile = 'test/declared-skips.ts';

async function loadDeclared(file: string): Promise<readonly DeclaredSkip[]> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { declaredSkips?: unknown };
  const parsed = declaredSkipsSchema.safeParse(mod.declaredSkips);
  if (!parsed.success) throw new Error(`${file}: declaredSkips ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Runs vitest with `args`; undefined when vitest wrote no report (it crashed before running). */
export async function runVitest(args: string[], declared = declaredSkipsFile): Promise<Verdict | undefined> {
  const report = join(mkdtempSync(join(tmpdir(), 'rotor-test-')), 'vitest.json');
  spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${report}`, ...args], {
    stdio: 'inherit',
  });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    return undefined;
  }
  return judge(vitestReportSchema.parse(raw), await loadDeclared(declared), process.cwd());
}

/** Prints each failure by name; true when the verdict is a pass. */
export function printVerdict(v: Verdict, extraFailures = 0): boolean {
  if (v.failures.length > 0) {
    process.stderr.write(`\n${v.failures.length} failure(s):\n${v.failures.map((f) => `  ✗ ${f}\n`).join('')}`);
  }
  const failed = v.failures.length + extraFailures;
  process.stdout.write(`tests: ${v.passed} passed, ${failed} failed, ${v.skipped} skipped (declared)\n`);
  return failed === 0 && v.passed > 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--declared');
  const declared = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const v = await runVitest(args, declared);
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
