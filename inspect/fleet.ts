import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { DEFAULT_INTERVAL_MS, listSchedules } from './schedules';
import type { ScheduledPlaybook } from '../adapters/playbook-files';

/** One secret's rotation health, as `rotor status` shows it. */
export interface SecretStatus {
  secret: string;
  playbook: string;
  file: string;
  intervalMs: number;
  lastRotation: {
    workflowId: string;
    runId: string;
    closedAt: string;
    outcome: 'rotated' | 'failed' | 'terminated' | 'cancelled' | 'timed-out';
  } | null;
  lastRotatedAt: string | null;
  running: { runId: string; startedAt: string } | null;
  nextDue: string | null;
  overdue: boolean;
}

const outcomes: Record<string, NonNullable<SecretStatus['lastRotation']>['outcome']> = {
  COMPLETED: 'rotated',
  FAILED: 'failed',
  TERMINATED: 'terminated',
  CANCELLED: 'cancelled',
  TIMED_OUT: 'timed-out',
};

async function runsOf(client: Client, secret: string): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  // Search attribute values are names only; the secret name is a DNS label, safe to quote.
  for await (const w of client.workflow.list({
    query: `WorkflowType = 'rotationWorkflow' AND RotationSecret = '${secret}'`,
  })) {
    runs.push(w);
    if (runs.length >= 50) break;
  }
  return runs;
}

/**
 * The fleet view: per playbook, the last rotation and its outcome, the last successful one, whether
 * one is running now, when the schedule fires next, and whether the secret is overdue (its last
 * successful rotation is older than its interval, or it never rotated).
 */
export async function fleetStatus(
  client: Client,
  entries: ScheduledPlaybook[],
  now = Date.now(),
): Promise<SecretStatus[]> {
  const schedules = new Map((await listSchedules(client)).map((s) => [s.secret, s]));
  return Promise.all(
    entries.map(async ({ file, playbook }) => {
      const secret = playbook.spec.secret.name;
      const intervalMs = playbook.spec.schedule?.every ?? DEFAULT_INTERVAL_MS;
      const runs = await runsOf(client, secret);
      const running = runs.find((r) => r.status.name === 'RUNNING');
      const closed = runs
        .filter((r) => r.closeTime)
        .sort((a, b) => (b.closeTime?.getTime() ?? 0) - (a.closeTime?.getTime() ?? 0));
      const last = closed[0];
      const lastOk = closed.find((r) => r.status.name === 'COMPLETED');
      const next = schedules.get(secret)?.nextRuns[0];
      return {
        secret,
        playbook: playbook.metadata.name,
        file,
        intervalMs,
        lastRotation: last
          ? {
              workflowId: last.workflowId,
              runId: last.runId,
              closedAt: last.closeTime?.toISOString() ?? '',
              outcome: outcomes[last.status.name] ?? 'failed',
            }
          : null,
        lastRotatedAt: lastOk?.closeTime?.toISOString() ?? null,
        running: running ? { runId: running.runId, startedAt: running.startTime.toISOString() } : null,
        nextDue: next?.toISOString() ?? null,
        overdue: !lastOk?.closeTime || now - lastOk.closeTime.getTime() > intervalMs,
      };
    }),
  );
}
