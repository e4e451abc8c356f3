import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{core,adapters,inspect,activities,workflows,cli,workers,dev,playbooks}/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          // Workflows on Temporal's time-skipping test server (hours of workflow time in seconds);
          // each file starts its own server (a JVM): one file at a time on a 2-core machine.
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          // Tests share one local stack and a 2-core machine; files run one at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
