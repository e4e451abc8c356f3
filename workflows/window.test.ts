import { describe, expect, it } from 'vitest';
import { msUntilWindow } from './window';

const at = (hhmm: string) => Date.parse(`2026-03-10T${hhmm}:00Z`);
const H = 3_600_000;

describe('rotation window', () => {
  it('is open inside the window and waits until its start outside it', () => {
    const w = { start: '02:00', end: '05:00' };
    expect(msUntilWindow(at('03:30'), w)).toBe(0);
    expect(msUntilWindow(at('02:00'), w)).toBe(0);
    expect(msUntilWindow(at('01:00'), w)).toBe(H);
    expect(msUntilWindow(at('05:00'), w)).toBe(21 * H);
    expect(msUntilWindow(at('23:00'), w)).toBe(3 * H);
  });

  it('handles windows that span midnight', () => {
    const w = { start: '22:00', end: '02:00' };
    expect(msUntilWindow(at('23:30'), w)).toBe(0);
    expect(msUntilWindow(at('01:59'), w)).toBe(0);
    expect(msUntilWindow(at('02:00'), w)).toBe(20 * H);
  });
});
