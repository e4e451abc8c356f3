import { continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { VersionRef } from '../../core/contracts';
import type { RotationInput, RotationResult } from '../../core/status';
import { settingsOf } from './attention';
import type { RotationRun } from './run';

/**
 * Between needs-attention retries: when the history has grown long (Temporal suggests it, or
 * `needsAttention.maxHistoryEvents`), the run continues as new, carrying the first run's identity,
 * the versions, the status and the alert state, and picks up at `stage`.
 */
export async function continueIfLong(
  run: RotationRun,
  stage: 'revoke' | 'finalize',
  versions: { old: VersionRef; fresh: VersionRef },
): Promise<void> {
  const info = workflowInfo();
  if (!info.continueAsNewSuggested && info.historyLength < settingsOf(run).maxHistoryEvents) return;
  run.writer.stageNote(stage, `continued as new after ${info.historyLength} history events`);
  await continueAsNew<(input: RotationInput) => Promise<RotationResult>>({
    ...run.input,
    resume: {
      stage,
      rotation: run.rotation,
      versions,
      status: run.status,
      ...(run.lockKey ? { lockKey: run.lockKey } : {}),
      ...(run.attention.since !== undefined ? { attentionSince: run.attention.since } : {}),
      escalated: run.attention.escalated,
      ...(run.gates.spentAttestations.length > 0 ? { spentAttestations: run.gates.spentAttestations } : {}),
    },
  });
}
