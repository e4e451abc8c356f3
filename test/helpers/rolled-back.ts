import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationStatus } from '../../core/status';

/**
 * Asserts the run failed as RotationRolledBack caused by a failure of type `cause`, and that every
 * undo succeeded; returns that cause (raised in the workflow, or by an activity inside an
 * ActivityFailure) for more checks.
 */
export function expectRolledBack(
  { out, status }: { out: { ok: true } | { ok: false; error: Error }; status: RotationStatus },
  cause: string,
): ApplicationFailure | undefined {
  expect(out.ok).toBe(false);
  if (out.ok) return undefined;
  const rolledBack = out.error.cause as ApplicationFailure;
  expect(rolledBack.type).toBe(WorkflowErrorTypes.rolledBack);
  let why: Error | undefined = rolledBack.cause;
  while (why && !(why instanceof ApplicationFailure)) why = why.cause as Error | undefined;
  expect(why?.type).toBe(cause);
  expect(status.phase).toBe('rolled-back');
  expect(status.compensation.filter((c) => !c.ok)).toEqual([]);
  return why;
}
