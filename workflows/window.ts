const DAY = 86_400_000;

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * Milliseconds from `now` until the daily UTC window [start, end) is open; 0 when it already is.
 * A window whose end is before its start spans midnight (e.g. 22:00–02:00). Pure, so workflows
 * can use it with their deterministic clock.
 */
export function msUntilWindow(now: number, window: { start: string; end: string }): number {
  const dayStart = now - (now % DAY);
  const t = now - dayStart;
  const start = minutes(window.start) * 60_000;
  const end = minutes(window.end) * 60_000;
  const open = start <= end ? t >= start && t < end : t >= start || t < end;
  if (open) return 0;
  return start > t ? start - t : DAY - t + start;
}
