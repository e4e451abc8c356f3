import { condition, log } from '@temporalio/workflow';
import type { Playbook } from '../../core/playbook/schema';
import type { StageName } from '../../core/status';
import { rootMessage } from '../saga';
import type { RotationRun } from './run';

/** The playbook's needs-attention settings (schema defaults applied when the playbook was checked). */
export function settingsOf(run: RotationRun): Playbook['spec']['needsAttention'] {
  return run.spec.needsAttention;
}

const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10}h`;

/**
 * Runs `attempt` until it succeeds. Past the point of no return nothing rolls back: each failure
 * puts the run in `needs-attention` (status, audit event, the `RotationPhase` search attribute and
 * the needs-attention metric) and waits for `rotor retry` or the next automatic retry
 * (`needsAttention.retryEvery`). Unresolved after `needsAttention.escalateAfter`, it escalates once
 * (audit event `needs-attention-escalated`, status). `beforeRetry` runs after each wait, before
 * the next attempt (the run continues as new there when its history grew long).
 */
export async function untilDone<T>(
  run: RotationRun,
  stage: StageName,
  attempt: (n: number) => Promise<T>,
  beforeRetry: () => Promise<void> = () => Promise.resolve(),
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      const result = await attempt(n);
      run.writer.attention(undefined);
      run.attention.since = undefined;
      run.attention.escalated = false;
      return result;
    } catch (err) {
      await needsAttention(run, stage, rootMessage(err));
      await beforeRetry();
    }
  }
}

/** Alerts, then waits for a retry request or the next automatic retry, escalating once on the way. */
async function needsAttention(run: RotationRun, stage: StageName, cause: string): Promise<void> {
  const settings = settingsOf(run);
  const attention = `${stage} keeps failing: ${cause}; fix the cause and send retry (rotor retry ${run.status.secret}), or wait for the automatic retry`;
  run.attention.since ??= Date.now();
  run.writer.attention(run.attention.escalated ? escalatedText(run, attention) : attention);
  log.error('rotation needs attention', { secret: run.status.secret, stage, error: cause });
  run.setPhase('needs-attention');
  run.audit('needs-attention', { stage, detail: attention });
  run.gates.retryRequested = false;
  const nextRetryAt = Date.now() + settings.retryEvery;
  for (;;) {
    const escalateAt = run.attention.since + settings.escalateAfter;
    const wakeAt = run.attention.escalated ? nextRetryAt : Math.min(nextRetryAt, escalateAt);
    const retried = await condition(() => run.gates.retryRequested, Math.max(1, wakeAt - Date.now()));
    if (!run.attention.escalated && Date.now() >= escalateAt) {
      run.attention.escalated = true;
      const text = escalatedText(run, attention);
      run.writer.attention(text);
      run.audit('needs-attention-escalated', { stage, detail: text });
      log.error('rotation needs attention: escalated', { secret: run.status.secret, stage, error: cause });
      run.publish();
    }
    if (retried || Date.now() >= nextRetryAt) break;
  }
  run.setPhase(stage);
}

function escalatedText(run: RotationRun, attention: string): string {
  return `ESCALATED, unresolved for ${hours(Date.now() - (run.attention.since ?? Date.now()))}: ${attention}`;
}
