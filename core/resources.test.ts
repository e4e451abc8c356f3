import { describe, expect, it } from 'vitest';
import { isFinal, rotationApprovalSpecSchema, rotationRequestSpecSchema, verbFor, withCondition } from './resources';

describe('rotor resources', () => {
  it('names the RBAC verb each decision needs', () => {
    expect(verbFor({ request: { mode: 'manual' } })).toBe('rotate');
    expect(verbFor({ request: { mode: 'emergency' } })).toBe('emergency');
    expect(verbFor({ action: 'approve' })).toBe('approve');
    expect(verbFor({ action: 'skip-soak' })).toBe('approve');
    expect(verbFor({ action: 'retry' })).toBe('approve');
    expect(verbFor({ action: 'pause' })).toBe('rotate');
    expect(verbFor({ action: 'resume' })).toBe('rotate');
    expect(verbFor({ action: 'abort' })).toBe('rotate');
  });

  it('refuses a compromised request that is no emergency, naming the field', () => {
    const r = rotationRequestSpecSchema.safeParse({ playbookRef: 'db', compromised: true, requestedBy: 'alice' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['compromised', 'only an emergency request may say compromised'],
    ]);
  });

  it('takes an approval of exactly one request or incident, and only pause, resume or abort of an incident', () => {
    const problems = (spec: object) =>
      rotationApprovalSpecSchema
        .safeParse({ approvedBy: 'alice', ...spec })
        .error?.issues.map((i) => [i.path.join('.'), i.message]);
    expect(problems({ incidentRef: 'leak', action: 'pause' })).toBeUndefined();
    expect(problems({ requestRef: 'db', action: 'approve' })).toBeUndefined();
    const one = [
      'requestRef',
      'name exactly one of requestRef (a RotationRequest) and incidentRef (a RotationIncident)',
    ];
    expect(problems({ action: 'abort' })).toEqual([one]);
    expect(problems({ requestRef: 'db', incidentRef: 'leak', action: 'abort' })).toEqual([one]);
    expect(problems({ incidentRef: 'leak', action: 'approve' })).toEqual([
      ['action', 'an incident takes only pause, resume, abort'],
    ]);
  });

  it('replaces a condition of the same type, keeping its time while its status holds', () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const t1 = new Date('2026-01-01T00:01:00Z');
    const one = withCondition([], { type: 'Rotating', status: 'True', reason: 'Running', message: 'plan' }, t0);
    const two = withCondition(one, { type: 'Rotating', status: 'True', reason: 'Running', message: 'soak' }, t1);
    expect(two).toEqual([
      { type: 'Rotating', status: 'True', reason: 'Running', message: 'soak', lastTransitionTime: t0.toISOString() },
    ]);
    const three = withCondition(two, { type: 'Succeeded', status: 'True', reason: 'Rotated', message: 'ok' }, t1);
    expect(three.map((c) => c.type)).toEqual(['Rotating', 'Succeeded']);
    expect(isFinal(two)).toBe(false);
    expect(isFinal(three)).toBe(true);
  });
});
