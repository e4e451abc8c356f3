import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import { relative } from 'node:path';

/**
 * Integration files that cannot run beside the parallel group, each with why; they run after it in
 * two small groups. `outage` (`sequence.groupOrder` 1, two at a time): multi-cluster stops
 * cluster-c's apiserver, so only files that use no cluster run beside it. `timing` (groupOrder 2,
 * three at a time): files sensitive to load (real kubelet resyncs, worker kills), which mostly wait,
 * so three of them load the machine less than the five files of the parallel group. Every other
 * integration file uses names of its own (random namespaces, task queues, secrets, roles).
 */
const serialFiles: readonly { file: string; group: 'outage' | 'timing'; why: string }[] = [
  {
    file: 'test/integration/multi-cluster.test.ts',
    group: 'outage',
    why: "stops cluster-c's apiserver, which every other cluster test uses",
  },
  // cli-fleet.test.ts also prunes every rotor/* schedule; it runs in the parallel group, this one after.
  {
    file: 'test/integration/schedules.test.ts',
    group: 'outage',
    why: 'expects its schedule to survive a sync; cli-fleet prunes them all',
  },
  {
    file: 'test/integration/fault-moto.test.ts',
    group: 'outage',
    why: 'cuts its own moto inside 3–4 s soak windows; load moves them',
  },
  {
    file: 'test/integration/fault-postgres.test.ts',
    group: 'outage',
    why: 'stops its own PostgreSQL inside a 3 s soak window',
  },
  {
    file: 'test/integration/durability.test.ts',
    group: 'timing',
    why: 'kills worker processes mid-stage; beside 4 busy files a kill can miss',
  },
  {
    file: 'test/integration/consumer-gate-fails.test.ts',
    group: 'timing',
    why: "its gates race the real kubelet's resync",
  },
  {
    file: 'test/integration/consumer-gate-mariadb.test.ts',
    group: 'timing',
    why: "its gates race the real kubelet's resync",
  },
];
const filesOf = (group: 'outage' | 'timing'): string[] =>
  serialFiles.filter((s) => s.group === group).map((s) => s.file);

/**
 * Seconds each file took in the fresh-clone run of 2026-12-04 20:00 (files of 25 s or more; a
 * file's time under the run's load, with 5 files at once). A fresh clone has no vitest cache, so
 * without these the first group would start its longest files late and end on them.
 */
const measuredSeconds: Record<string, number> = {
  'test/integration/incident-throttle.test.ts': 154,
  'test/integration/kube-identity.test.ts': 140,
  'test/integration/rotation-vault-pki-ca.test.ts': 135,
  'test/integration/chart-fleet.test.ts': 118,
  'test/workflow/fleet-bytes.test.ts': 114,
  'test/integration/kube-incident.test.ts': 99,
  'test/integration/incident-fifty.test.ts': 83,
  'test/integration/chart-upgrade.test.ts': 77,
  'test/integration/stack-workers.test.ts': 73,
  'dev/test-runner.test.ts': 72,
  'test/integration/temporal-ui.browser.test.ts': 63,
  'test/integration/canary-kubernetes-job.test.ts': 61,
  'test/integration/rotation-vault-pki.test.ts': 60,
  'test/integration/consumer-gate.test.ts': 60,
  'test/integration/rotation-saga.test.ts': 54,
  'test/integration/cli.test.ts': 50,
  'test/integration/failure-paths.test.ts': 50,
  'test/integration/temporal-tls.test.ts': 45,
  'test/integration/incident.test.ts': 44,
  'test/integration/rotation-jwt.test.ts': 44,
  'dev/image/worker-image.test.ts': 43,
  'test/integration/no-secret-leak.test.ts': 43,
  'test/integration/policy-abuse.test.ts': 42,
  'test/integration/worker-versioning.test.ts': 39,
  'test/integration/consumer-gate-jwks.test.ts': 39,
  'test/integration/failure-paths-kube.test.ts': 38,
  'test/integration/rotation-redis.test.ts': 36,
  'test/integration/queue-waits.test.ts': 35,
  'test/integration/worker-shutdown.test.ts': 34,
  'test/integration/key-rotation.test.ts': 32,
  'test/workflow/waits.test.ts': 29,
  'test/integration/rollouts.test.ts': 29,
  'test/integration/doctor.test.ts': 28,
  'test/integration/nodes.test.ts': 27,
  'test/integration/plan-consumers.test.ts': 26,
};

/** A file not measured above: what such files of its project usually take. */
const typicalSeconds: Record<string, number> = { integration: 15, workflow: 10, unit: 0.5 };

/**
 * Longest first across projects, so the parallel group does not end on a long file started late:
 * a file's duration in this checkout's last run (vitest's cache), else its measured seconds, else
 * its project's typical time. Set on the root config: vitest takes the sequencer from there only.
 */
class LongestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const expected = (s: TestSpecification): number => {
      const file = relative(root, s.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${s.project.name}:${file}`)?.duration;
      return cached !== undefined ? cached / 1000 : (measuredSeconds[file] ?? typicalSeconds[s.project.name] ?? 15);
    };
    const groupOrder = (s: TestSpecification) => s.project.config.sequence.groupOrder;
    return Promise.resolve([...files].sort((a, b) => groupOrder(a) - groupOrder(b) || expected(b) - expected(a)));
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

/** What every project shares: one workflow bundle for the run, and each file's CPU measured. */
const everyProject = {
  globalSetup: ['test/global-setup.ts'],
  setupFiles: ['test/cpu-meter.ts'],
  hookTimeout: 180_000,
};

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          name: 'unit',
          // One test process serves many unit files, which import the same modules: about half the
          // unit project's CPU (64 -> 36 CPU-s). A unit file that changes a global (process.env,
          // timers, spies) restores it in its own hooks.
          isolate: false,
          include: [
            '{core,adapters,inspect,activities,workflows,cli,workers,dev,playbooks}/**/*.test.ts',
            'test/replay/**/*.test.ts',
          ],
          ...everyProject,
          testTimeout: 60_000,
          maxWorkers: parallel,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Workflows on Temporal's time-skipping test server (hours of workflow time in seconds);
          // each file starts its own server (a JVM).
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          ...everyProject,
          testTimeout: 120_000,
          maxWorkers: parallel,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: serialFiles.map((s) => s.file),
          ...everyProject,
          testTimeout: 180_000,
          maxWorkers: parallel,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration-outage',
          include: filesOf('outage'),
          ...everyProject,
          testTimeout: 180_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'integration-timing',
          include: filesOf('timing'),
          ...everyProject,
          testTimeout: 180_000,
          maxWorkers: 3,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
