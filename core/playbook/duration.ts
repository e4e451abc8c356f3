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
