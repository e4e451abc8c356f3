import { z } from 'zod';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "90d", "1h30m", "45s", "250ms" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? 's'] ?? 0), 0);
}

/**
 * A duration written like "90d", "10m", "1h30m", parsed to milliseconds. A number is taken as
 * milliseconds already, so a parsed playbook validates again unchanged (the worker re-validates).
 */
export const duration = z.union([z.number().int().min(0), z.string()]).transform((text, ctx) => {
  if (typeof text === 'number') return text;
  const ms = parseDuration(text.trim());
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not a duration; write e.g. 30s, 10m, 2h, 90d or 1h30m` });
    return z.NEVER;
  }
  return ms;
});

/** The longest delay a Temporal timer holds (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const maxTimerMs = 2 ** 31 - 1;

const describe = (ms: number): string => `${ms}ms`;

/**
 * A duration that becomes a timer or timeout: more than 0 (a zero timeout fails at once) and at most
 * {@link maxTimerMs}. With `zeroMeansNone`, 0 is allowed and means "no wait" (e.g. soak).
 */
export function timerDuration(opts: { zeroMeansNone?: boolean } = {}) {
  return duration.superRefine((ms, ctx) => {
    if (ms === 0 && !opts.zeroMeansNone) {
      ctx.addIssue({ code: 'custom', message: 'must be longer than 0; write e.g. 30s, 10m or 2h' });
    } else if (ms > maxTimerMs) {
      ctx.addIssue({
        code: 'custom',
        message: `${describe(ms)} is longer than a Temporal timer holds (about 24.8 days, it would fire at once); write at most 24d`,
      });
    }
  });
}

/** `90d`, `15m`, `0s`: the largest unit that writes `ms` exactly. */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  if (ms === 0) return '0s';
  const [unit, size] = units.find(([, size]) => ms % size === 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}
