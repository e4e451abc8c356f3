import { describe, expect, it } from 'vitest';
import { rotationViews } from './ui-views';

describe('Temporal UI views', () => {
  const now = new Date('2026-12-02T12:00:00.000Z');

  it('limits every view to rotation runs, so store locks and batch children never show', () => {
    const views = rotationViews(now, 'payments-db');
    expect(views.map((v) => v.name)).toEqual(['rotations', 'running', 'needs-attention', 'rolled-back', 'history']);
    for (const v of views) expect(v.query.startsWith('WorkflowType="rotationWorkflow"')).toBe(true);
  });

  it('bounds rolled-back to the last day before now, and filters a secret by its search attribute', () => {
    const byName = new Map(rotationViews(now, 'payments-db').map((v) => [v.name, v.query]));
    expect(byName.get('rolled-back')).toContain('CloseTime > "2026-12-01T12:00:00.000Z"');
    expect(byName.get('rolled-back')).toContain('RotationPhase IN ("rolled-back", "compensation-failed")');
    expect(byName.get('history')).toBe('WorkflowType="rotationWorkflow" AND RotationSecret="payments-db"');
    expect(rotationViews(now).some((v) => v.name === 'history')).toBe(false);
  });

  it('quotes a name so it cannot widen the query', () => {
    const history = rotationViews(now, 'x" OR WorkflowType="storeLockWorkflow').find((v) => v.name === 'history');
    expect(history?.query).toBe(
      'WorkflowType="rotationWorkflow" AND RotationSecret="x\\" OR WorkflowType=\\"storeLockWorkflow"',
    );
  });
});
