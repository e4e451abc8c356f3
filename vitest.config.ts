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
  { file: 'test/integration/durability.test.ts', why: 'kills workers inside second-long stages; load moves them' },
  { file: 'test/integration/fault-moto.test.ts', why: 'cuts moto inside 2–4 s canary and soak windows' },
  { file: 'test/integration/fault-postgres.test.ts', why: 'stops PostgreSQL inside 3 s soak and canary windows' },
  { file: 'test/integration/consumer-gate-fails.test.ts', why: "its gates race the real kubelet's resync" },
];

// Longest first on a cold machine too (vitest's own cache orders warm runs): integration files,
// then the time-skipping workflow files, then unit files fill the gaps at the end.
const rank: Record<string, number> = { integration: 0, workflow: 1, unit: 2 };
class ProjectsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return sorted.sort((a, b) => (rank[a.project.name] ?? 0) - (rank[b.project.name] ?? 0));
  }
}

/**
 * Files at a time in the first group: the tests mostly wait on real services (timers, kubelets,
 * watches), so more files than cores run at once; docs/development.md has the measured run times.
 */
const parallel = 4;

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
          sequence: { groupOrder: 0, sequencer: ProjectsFirst },
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
          sequence: { groupOrder: 0, sequencer: ProjectsFirst },
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
          sequence: { groupOrder: 0, sequencer: ProjectsFirst },
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
