import type { DeclaredNotRun } from '../dev/test-census';
import type { DeclaredSkip } from '../dev/test-verdict';

/**
 * The one place a test may be declared skipped, with its reason. `npm test` counts every other
 * skipped or todo test as a failure (dev/test-verdict.ts). Keep this empty unless there is no way to
 * run the test honestly here.
 */
export const declaredSkips: readonly DeclaredSkip[] = [];

/**
 * Test files `npm test` leaves out on purpose, with the reason. Every other `*.test.ts` of the
 * repository must be in a vitest project and report, or the run fails (dev/test-census.ts).
 */
export const declaredNotRun: readonly DeclaredNotRun[] = [
  {
    path: 'test/fixtures/runner/',
    reason: "fixtures of the runner's own test, which fail on purpose; dev/test-runner.test.ts runs them",
  },
];
