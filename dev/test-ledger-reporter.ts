/**
 * A vitest reporter that writes what the JSON report leaves out to the file named by
 * `ROTOR_TEST_LEDGER`: every module that reported (with its project and wall time) and every
 * unhandled error (uncaught rejections, a worker that died, global-setup teardown errors).
 * dev/test-census.ts judges it.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';
import type { Ledger } from './test-census';

// "Worker forks emitted error" says little; its cause says the test process died.
function describe(e: SerializedError): string {
  const line = (x: SerializedError): string => `${x.name ?? 'Error'}: ${x.message ?? ''}`.split('\n')[0] ?? '';
  const cause = e['cause'];
  return cause && typeof cause === 'object' ? `${line(e)} (${line(cause)})` : line(e);
}

export default class TestLedgerReporter implements Reporter {
  private readonly started = new Map<string, number>();
  private readonly finished = new Map<string, number>();

  onTestModuleStart(m: TestModule): void {
    this.started.set(m.moduleId, performance.now());
  }

  onTestModuleEnd(m: TestModule): void {
    this.finished.set(m.moduleId, performance.now());
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    const file = process.env['ROTOR_TEST_LEDGER'];
    if (!file) return;
    const ledger: Ledger = {
      reason,
      modules: modules.map((m) => {
        const start = this.started.get(m.moduleId);
        const end = this.finished.get(m.moduleId);
        return {
          file: m.moduleId,
          project: m.project.name,
          state: m.state(),
          wallMs: start !== undefined && end !== undefined ? Math.round(end - start) : m.diagnostic().duration,
          ...(m.meta().cpuMs !== undefined ? { cpuMs: m.meta().cpuMs } : {}),
        };
      }),
      unhandledErrors: unhandledErrors.map((e) => ({
        message: describe(e),
        ...(typeof e['testId'] === 'string' ? { testId: e['testId'] } : {}),
        ...(typeof e['VITEST_TEST_PATH'] === 'string' ? { file: e['VITEST_TEST_PATH'] } : {}),
      })),
    };
    writeFileSync(file, JSON.stringify(ledger));
  }
}
