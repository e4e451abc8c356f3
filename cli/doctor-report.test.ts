import { describe, expect, it } from 'vitest';
import { readerLines } from './readers';
import { renderReport, report } from '../inspect/findings';
import type { Finding } from '../inspect/findings';

const finding = (severity: Finding['severity'], cluster: string, resource: string): Finding => ({
  severity,
  check: 'x',
  cluster,
  resource,
  problem: `${severity} problem`,
  fix: `${severity} fix`,
});

describe('doctor report', () => {
  it('sorts by severity, counts each, and prints the fix under each finding with the blind spots', () => {
    const r = report(
      [finding('low', 'b', 'Pod/ns/p'), finding('high', 'b', 'Deployment/ns/d'), finding('medium', 'a', 'Role/x')],
      ['encryption at rest'],
    );
    expect(r.findings.map((f) => f.severity)).toEqual(['high', 'medium', 'low']);
    expect(r.summary).toEqual({ high: 1, medium: 1, low: 1, info: 0 });
    const text = renderReport(r).split('\n');
    expect(text[0]).toMatch(/^SEVERITY +CLUSTER +RESOURCE +PROBLEM$/);
    expect(text[1]).toMatch(/^HIGH +b +Deployment\/ns\/d +high problem$/);
    expect(text[2]).toMatch(/^ +fix: high fix$/);
    expect(text).toContain('1 high, 1 medium, 1 low, 0 info');
    expect(text.slice(-2)).toEqual(['not visible to rotor doctor:', '  - encryption at rest']);
  });

  it('says so when there is nothing to report', () => {
    expect(renderReport(report([], []))).toBe('no findings\n\n0 high, 0 medium, 0 low, 0 info');
  });
});

describe('readerLines', () => {
  it('lists non-system readers, marks the flagged ones, and counts system machinery', () => {
    const base = { kind: 'User' as const, verbs: ['get' as const], confirmed: true, rotor: false };
    const lines = readerLines([
      {
        cluster: 'cluster-a',
        namespace: 'app',
        secretName: 'db',
        consumers: ['serviceaccount:app/api'],
        unseen: ['SubjectAccessReview failed'],
        readers: [
          { ...base, identity: 'group:system:masters', via: ['v'], system: true, consumer: false, flagged: false },
          { ...base, identity: 'serviceaccount:app/api', via: ['rb'], system: false, consumer: true, flagged: false },
          { ...base, identity: 'user:alice', via: ['rb2'], system: false, consumer: false, flagged: true },
        ],
      },
    ]);
    expect(lines).toEqual([
      'readers in cluster-a (app/db): 3 identities, 1 not known consumers, 1 system',
      '    serviceaccount:app/api get — consumer — rb',
      '  ! user:alice get — NOT A KNOWN CONSUMER — rb2',
      '  ? SubjectAccessReview failed',
    ]);
  });
});
