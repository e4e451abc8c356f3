import type { DeclaredSkip } from '../dev/test-verdict';

/**
 * The one place a test may be declared skipped, with its reason. `npm test` counts every other
 * skipped or todo test as a failure (dev/test-verdict.ts). Keep this empty unless there is no way to
 * run the test honestly here.
 */
export const declaredSkips: readonly DeclaredSkip[] = [];
