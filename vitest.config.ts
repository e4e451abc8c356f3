import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Integration files that cannot share the stack with others: they run alone, after everything
 * else (`sequence.groupOrder` 1). Every other integration file uses names of its own (random
 * namespaces, task queues, secrets, roles) and runs beside the rest.
 */
const serialFiles: readonly { file: string; why: string }[] = [
  { file: 'test/integration/multi-cluster.test.ts', why: "stops cluster-c's apiserver and restarts the kube service" },
  // cli-fleet.test.ts also prunes every rotor/* schedule; it runs beside the rest, this one alone.
  {
    file: 'test/integration/schedules.test.ts',
    why: 'expects its schedule to survive a sync; cli-fleet prunes them all',
  },
  {
    file: 'test/integration/durability.test.ts',
    why: 'kills worker processes mid-stage; beside 4 other files a kill can miss',
  },
  { file: 'test/integration/fault-moto.test.ts', why: 'cuts its moto inside 3–4 s soak windows; load moves them' },
  { file: 'test/integration/fault-postgres.test.ts', why: 'stops its PostgreSQL inside a 3 s soak window' },
  { file: 'test/integration/consumer-gate-fails.test.ts', why: "its gates race the real kubelet's resync" },
  { file: 'test/integration/consumer-gate-mariadb.test.ts', why: "its gates race the real kubelet's resync" },
];

// Longest first on a fresh clone too (vitest's own cache orders warm runs): the files measured
// slowest (docs/development.md), then the other integration files, then the time-skipping workflow
// files; unit files fill the gaps at the end.
const slowest = [
  'incident-fifty',
  'rotation-vault-pki-ca',
  'chart-fleet',
  'rotation-saga',
  'kube-identity',
  'chart-upgrade',
  'failure-paths',
  'cli',
  'incident',
  'stack-workers',
  'incident-throttle',
  'no-secret-leak',
  'policy-abuse',
  'consumer-gate',
  'temporal-ui.browser',
  'canary-kubernetes-job',
].map((name) => `/test/integration/${name}.test.ts`);
const rank: Record<string, number> = { integration: 1, workflow: 2, unit: 3 };
const rankOf = (s: TestSpecification): number =>
  slowest.some((f) => s.moduleId.endsWith(f)) ? 0 : (rank[s.project.name] ?? 1);
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return sorted.sort((a, b) => rankOf(a) - rankOf(b));
  }
}

/**
 * Files at a time in the first group: the tests mostly wait on real services (timers, kubelets,
 * watches), so more files than cores run at once; docs/development.md has the measured run times.
 */
const parallel = 5;

/**
 * Projects that need no stack service (the workflow project uses the time-skipping server): on a
 * machine still building the stack, `npm test` (dev/test.ts) runs them first, the rest after.
 */
export const stackFreeProjects: readonly string[] = ['unit', 'workflow'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            '{core,adapters,inspect,activities,workflows,cli,workers,dev,playbooks}/**/*.test.ts',
            'test/replay/**/*.test.ts',
          ],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          maxWorkers: parallel,
          sequence: { groupOrder: 0, sequencer: LongestFirst },
        },
      },
      {
        test: {
          // Workflows on Temporal's time-skipping test server (hours of workflow time in seconds);
          // each file starts its own server (a JVM).
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: parallel,
          sequence: { groupOrder: 0, sequencer: LongestFirst },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: serialFiles.map((s) => s.file),
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: parallel,
          sequence: { groupOrder: 0, sequencer: LongestFirst },
        },
      },
      {
        test: {
          name: 'integration-serial',
          include: serialFiles.map((s) => s.file),
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
