import { describe, expect, it } from 'vitest';
import { abortAnswer, endedOutcome, supersededCondition, supersedeReason } from './supersede';
import type { SupersededRun } from './supersede';

const run = (how: SupersededRun['how'], outcome: string): SupersededRun => ({
  workflowId: 'rotate/orders/db',
  runId: 'r1',
  how,
  outcome,
});

describe('supersede', () => {
  it('names the request, its user and reason in the abort', () => {
    expect(supersedeReason('em', 'oscar', 'leaked')).toBe('superseded by emergency request em of oscar: leaked');
    expect(supersedeReason('em', 'oscar', undefined)).toBe(
      'superseded by emergency request em of oscar: no reason given',
    );
  });

  it('reads the running run’s answer to the abort', () => {
    expect(abortAnswer(true, 'aborting: compensation runs now')).toBe('aborting');
    // A second abort of the same run (the request's own, or another operator's): wait for its rollback.
    expect(abortAnswer(false, 'already aborted by oscar: superseded …')).toBe('aborting');
    expect(
      abortAnswer(false, 'cannot abort: the old credential is already being revoked (point of no return); …'),
    ).toBe('past-point-of-no-return');
    expect(
      abortAnswer(false, "abort by oscar refused, nothing was changed: it carries no attestation from rotor's"),
    ).toBe('refused');
  });

  it('names how the superseded run ended', () => {
    expect(endedOutcome('FAILED')).toBe('RolledBack');
    expect(endedOutcome('COMPLETED')).toBe('Rotated');
    expect(endedOutcome('TERMINATED')).toBe('Terminated');
    expect(endedOutcome('SOMETHING_NEW')).toBe('SOMETHING_NEW');
  });

  it('says False while the run winds down and True with its outcome once it ended', () => {
    expect(supersededCondition(run('Aborted', 'Running'))).toEqual({
      status: 'False',
      reason: 'Aborting',
      message: 'aborted run r1 of rotate/orders/db; waiting for it to roll back',
    });
    const forward = supersededCondition(run('WaitedPastPointOfNoReturn', 'Running'), 'phase revoke');
    expect(forward).toMatchObject({ status: 'False', reason: 'WaitingPastPointOfNoReturn' });
    expect(forward.message).toContain(
      'rotor does not abort it and starts the emergency once it has finished: phase revoke',
    );
    expect(supersededCondition(run('Aborted', 'RolledBack'), 'aborted by oscar: …')).toEqual({
      status: 'True',
      reason: 'AbortedAndRolledBack',
      message: 'run r1 of rotate/orders/db was aborted and ended RolledBack: aborted by oscar: …',
    });
    expect(supersededCondition(run('WaitedPastPointOfNoReturn', 'Rotated'))).toMatchObject({
      status: 'True',
      reason: 'FinishedPastPointOfNoReturn',
      message: 'run r1 of rotate/orders/db finished forward and ended Rotated',
    });
  });
});
