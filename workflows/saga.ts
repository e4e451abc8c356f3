import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';

import type { UndoOutcome } from '../core/status';

/**
 * The message an operator needs from a failure chain: the first application failure's message
 * (activity and child-workflow wrappers only say "Activity task failed"), else the innermost one.
 */
export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e) {
    if (e instanceof ApplicationFailure && e.message) return e.message;
    if (e.message) message = e.message;
    e = e.cause as { message?: string; cause?: unknown } | undefined;
  }
  return message;
}

/**
 * Compensation stack. Each forward step registers its undo as soon as it may have changed
 * something — right after it succeeds, or just before it when its effect can land without a reply
 * (then the undo must tolerate "nothing to undo"). `compensate`
 * runs them last-first, shielded from cancellation (an abort must not interrupt its own rollback),
 * and reports every undo that failed instead of swallowing it.
 */
export class Saga {
  private readonly undos: { step: string; run: () => Promise<void> }[] = [];

  add(step: string, run: () => Promise<void>): void {
    this.undos.push({ step, run });
  }

  /** Drops all undos: past the point of no return there is nothing left to roll back to. */
  clear(): void {
    this.undos.length = 0;
  }

  async compensate(onStep: (report: UndoOutcome) => void): Promise<UndoOutcome[]> {
    const reports: UndoOutcome[] = [];
    await CancellationScope.nonCancellable(async () => {
      while (this.undos.length > 0) {
        const undo = this.undos.pop();
        if (!undo) break;
        try {
          await undo.run();
          reports.push({ step: undo.step, ok: true });
        } catch (err) {
          reports.push({ step: undo.step, ok: false, error: rootMessage(err) });
        }
        const last = reports[reports.length - 1];
        if (last) onStep(last);
      }
    });
    return reports;
  }
}
