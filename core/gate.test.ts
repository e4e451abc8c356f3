import { describe, expect, it } from 'vitest';
import { gateText, judgeReads, parseReadsLine } from './gate';

const reads = (line: string) => parseReadsLine(line, 'rotor.dev/reads') ?? new Map<string, string>();
const expected = { currentKey: 'value', current: 'c1', otherKey: 'value-other', other: 'n2' as string | null };
const versionOf = (d: string) => ({ c1: '1', n2: '2' })[d];

describe('consumer gate rules', () => {
  it('parses a report line, with or without a timestamp before it, and ignores other lines', () => {
    expect([...reads('rotor.dev/reads value=c1 value-other=-')]).toEqual([
      ['value', 'c1'],
      ['value-other', '-'],
    ]);
    expect(parseReadsLine('hello world', 'rotor.dev/reads')).toBeUndefined();
  });
  it('passes only a consumer that reads the Secret exactly as delivered', () => {
    expect(judgeReads(reads('rotor.dev/reads value=c1 value-other=n2'), expected, versionOf).ok).toBe(true);
    // Not resynced yet: the other key's file does not exist in the pod.
    expect(judgeReads(reads('rotor.dev/reads value=c1 value-other=-'), expected, versionOf)).toEqual({
      ok: false,
      why: 'does not read value-other yet',
    });
    expect(judgeReads(reads('rotor.dev/reads value=n2 value-other=c1'), expected, versionOf).why).toBe(
      'reads version 2 under value',
    );
    expect(judgeReads(reads('rotor.dev/reads value=zz'), expected, versionOf).why).toBe(
      'reads an unknown value under value',
    );
    expect(judgeReads(reads('rotor.dev/reads value-other=n2'), expected, versionOf).why).toBe('does not report value');
    // A consumer that reads only the current key needs only that one.
    expect(judgeReads(reads('rotor.dev/reads value=c1'), expected, versionOf).ok).toBe(true);
  });
  it('after a restore, the other key must be gone from what the consumer reads', () => {
    const restored = { ...expected, other: null };
    expect(judgeReads(reads('rotor.dev/reads value=c1 value-other=-'), restored, versionOf).ok).toBe(true);
    expect(judgeReads(reads('rotor.dev/reads value=c1 value-other=n2'), restored, versionOf).why).toBe(
      'still reads version 2 under value-other',
    );
  });
  it('says per cluster how the gate was passed, or why not', () => {
    const o = { cluster: 'a', ok: true, pods: 3, reported: 1, settled: 1, restarted: 1, waitedMs: 1234, detail: '' };
    expect(gateText('promote', o)).toBe('promote gate ✔ 1.2s: 1 reported, 1 settled, 1 restart-only ok');
    expect(gateText('revoke', { ...o, pods: 0, reported: 0, settled: 0, restarted: 0 })).toBe(
      'revoke gate ✔ 1.2s: no consumer pods',
    );
    expect(gateText('revoke', { ...o, ok: false, detail: 'pod x: settling' })).toBe(
      'revoke gate ✘ 1.2s: pod x: settling',
    );
  });
});
