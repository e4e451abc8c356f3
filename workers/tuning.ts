import { z } from 'zod';

/**
 * The worker's capacity settings, from the environment. Each variable maps to the Temporal SDK's
 * Worker option of the same meaning; unset ones take rotor's defaults, chosen from the
 * `bench:fanout --rotations` measurements in the README ("Fleet scale").
 */
export const workerTuningVars = {
  ROTOR_MAX_CONCURRENT_ACTIVITIES: 'maxConcurrentActivityTaskExecutions',
  ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS: 'maxConcurrentWorkflowTaskExecutions',
  ROTOR_MAX_CACHED_WORKFLOWS: 'maxCachedWorkflows',
  ROTOR_WORKFLOW_TASK_POLLERS: 'maxConcurrentWorkflowTaskPolls',
  ROTOR_ACTIVITY_TASK_POLLERS: 'maxConcurrentActivityTaskPolls',
} as const;

/** The SDK Worker options rotor sets from the environment. */
export type WorkerTuning = { -readonly [K in keyof typeof workerTuningVars as (typeof workerTuningVars)[K]]: number };

/**
 * rotor's defaults, measured on a 2-core machine (docs/benchmarks.md, "One incident over many
 * secrets"). Slots bound what runs at once; pollers decide whether a task reaches the worker at
 * once: a task the server finds no poller waiting for is written to its task table and read back,
 * which on the dev server's SQLite took seconds under load. With 4 workflow-task pollers 18 % of
 * sticky workflow tasks were matched at once and a 100-secret incident ran at 0.16 rotations/s;
 * with 16 pollers 56–90 % and 0.20–0.34/s (over 16 or 32 slots alike, at varying load). Far more
 * slots (`bench:fanout`, 100 at once) made workflow tasks wait past their 10 s timeout and replay.
 * The cache holds far more than the slots, so a busy rotation is not evicted.
 */
export const defaultWorkerTuning: WorkerTuning = {
  maxConcurrentActivityTaskExecutions: 20,
  maxConcurrentWorkflowTaskExecutions: 16,
  maxCachedWorkflows: 1000,
  maxConcurrentWorkflowTaskPolls: 16,
  maxConcurrentActivityTaskPolls: 8,
};

const count = (min: number) => z.coerce.number().int().min(min).max(100_000);

const schema = z
  .object({
    ROTOR_MAX_CONCURRENT_ACTIVITIES: count(1).optional(),
    ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS: count(2).optional(),
    // 0 turns the sticky cache off: every workflow task replays the whole history.
    ROTOR_MAX_CACHED_WORKFLOWS: count(0).optional(),
    ROTOR_WORKFLOW_TASK_POLLERS: count(2).optional(),
    ROTOR_ACTIVITY_TASK_POLLERS: count(1).optional(),
  })
  .transform((e) => ({
    maxConcurrentActivityTaskExecutions:
      e.ROTOR_MAX_CONCURRENT_ACTIVITIES ?? defaultWorkerTuning.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions:
      e.ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS ?? defaultWorkerTuning.maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: e.ROTOR_MAX_CACHED_WORKFLOWS ?? defaultWorkerTuning.maxCachedWorkflows,
    maxConcurrentWorkflowTaskPolls: e.ROTOR_WORKFLOW_TASK_POLLERS ?? defaultWorkerTuning.maxConcurrentWorkflowTaskPolls,
    maxConcurrentActivityTaskPolls: e.ROTOR_ACTIVITY_TASK_POLLERS ?? defaultWorkerTuning.maxConcurrentActivityTaskPolls,
  }))
  .superRefine((t, ctx) => {
    // The SDK's own rules, said in terms of rotor's variables instead of its option names.
    if (t.maxConcurrentWorkflowTaskPolls > t.maxConcurrentWorkflowTaskExecutions)
      ctx.addIssue({
        code: 'custom',
        path: ['ROTOR_WORKFLOW_TASK_POLLERS'],
        message: `must not exceed ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS (${t.maxConcurrentWorkflowTaskExecutions})`,
      });
    if (t.maxConcurrentActivityTaskPolls > t.maxConcurrentActivityTaskExecutions)
      ctx.addIssue({
        code: 'custom',
        path: ['ROTOR_ACTIVITY_TASK_POLLERS'],
        message: `must not exceed ROTOR_MAX_CONCURRENT_ACTIVITIES (${t.maxConcurrentActivityTaskExecutions})`,
      });
  });

/**
 * Reads the worker's tuning from `env`; a bad value fails with the variable's name, what it got and
 * what it accepts, before the worker connects.
 */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  const picked = Object.fromEntries(
    Object.keys(workerTuningVars)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = schema.safeParse(picked);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const name = String(i.path[0] ?? 'worker tuning');
    return `${name}=${JSON.stringify(picked[name] ?? '')}: ${i.message}`;
  });
  throw new Error(`bad worker tuning: ${problems.join('; ')} (whole numbers; see README "Fleet scale")`);
}
