import type { DeclaredSkip } from '../dev/test-verdict';

/**
 * The one place a test may be declared skipped, with its reason. `npm test` counts every other
 * skipped or todo test as a failure (dev/test-verdict.ts). Keep this empty unless there is no way to
 * run the test honestly here.
 */
export const declaredSkips: readonly DeclaredSkip[] = [
  {
    file: 'test/integration/kube-watch.test.ts',
    test: 'waitForObject (kube-watch) lists again after 410 Gone (expired resourceVersion)',
    reason:
      'kube-apiserver 1.34 serves a watch from resourceVersion 1 without 410 on a young stack, even after an ' +
      'explicit etcd compaction (tried: POST /v3/kv/compaction at the current revision); the relist path is ' +
      'only reachable once the watch cache has evicted. Open in issue 12.',
  },
];
