import type {
  ChildRecord,
  ChildState,
  IncidentCarried,
  IncidentInput,
  IncidentOutcome,
  IncidentReport,
  IncidentStatus,
} from './types';
import { childStates } from './types';

/** How many rotations are in each state. */
export function countStates(records: readonly ChildRecord[]): Record<ChildState, number> {
  const counts = Object.fromEntries(childStates.map((s) => [s, 0])) as Record<ChildState, number>;
  for (const r of records) counts[r.state]++;
  return counts;
}

/** The `n` rotations that ran longest (still running ones up to `now`), slowest first. */
export function slowest(records: readonly ChildRecord[], now: number, n = 5) {
  return records
    .filter((r) => r.startedAt !== undefined)
    .map((r) => ({
      secret: r.secret,
      state: r.state,
      seconds: Math.round(((r.endedAt ?? now) - (r.startedAt ?? now)) / 1000),
    }))
    .sort((a, b) => b.seconds - a.seconds || a.secret.localeCompare(b.secret))
    .slice(0, n);
}

const why = (r: ChildRecord) => ({ secret: r.secret, why: r.why ?? '' });

/**
 * Per backend key, how often it throttled a rotation of the incident: throttled answers the
 * running rotations reported (and retried), plus rotations rolled back for it and started again.
 */
export function throttleCounts(
  carried: Pick<IncidentCarried, 'throttles' | 'reportedThrottles'>,
): Record<string, number> {
  const counts: Record<string, number> = { ...carried.throttles };
  for (const [b, n] of Object.entries(carried.reportedThrottles ?? {})) counts[b] = (counts[b] ?? 0) + n;
  return counts;
}

/** The incident's outcome and report from its records; `aborted` when an operator aborted it. */
export function incidentReport(
  base: {
    incidentId: string;
    reason: string;
    aborted?: { by: string; reason?: string };
    throttles?: Record<string, number>;
  },
  records: readonly ChildRecord[],
): IncidentReport {
  const of = (state: ChildState) => records.filter((r) => r.state === state);
  const outcome: IncidentOutcome = base.aborted
    ? 'aborted'
    : of('needs-attention').length > 0
      ? 'needs-attention'
      : of('rolled-back').length > 0
        ? 'rolled-back'
        : 'rotated';
  return {
    outcome,
    incidentId: base.incidentId,
    reason: base.reason,
    counts: countStates(records),
    rotated: of('rotated').map((r) => r.secret),
    rolledBack: of('rolled-back').map(why),
    needsAttention: of('needs-attention').map(why),
    skipped: of('skipped').map(why),
    notStarted: of('pending').map((r) => r.secret),
    throttles: base.throttles ?? {},
    ...(base.aborted ? { aborted: base.aborted } : {}),
  };
}

/**
 * The next pending rotation that may start now: under the overall bound, under the per-backend
 * bound on every backend it uses, and on no backend still backing off. Records keep the order the
 * playbooks were selected in, so starts are deterministic.
 */
export function nextStartable(
  records: readonly ChildRecord[],
  limits: { concurrency: number; perBackend: number },
  backoffUntil: Readonly<Record<string, number>>,
  now: number,
): ChildRecord | undefined {
  const running = records.filter((r) => r.state === 'running');
  if (running.length >= limits.concurrency) return undefined;
  const load = new Map<string, number>();
  for (const r of running) for (const b of r.backends) load.set(b, (load.get(b) ?? 0) + 1);
  return records.find(
    (r) =>
      r.state === 'pending' &&
      r.backends.every((b) => (load.get(b) ?? 0) < limits.perBackend && (backoffUntil[b] ?? 0) <= now),
  );
}

/** The status query's answer from the incident's input, records and operator state. */
export function incidentStatus(
  input: IncidentInput,
  carried: IncidentCarried,
  run: { incidentId: string; ended: boolean; now: number; aborted?: { by: string; reason?: string } },
): IncidentStatus {
  const records = carried.records;
  return {
    incidentId: run.incidentId,
    reason: input.reason,
    requestedBy: input.requestedBy,
    compromised: input.compromised,
    selection: input.selection,
    startedAt: carried.startedAt,
    paused: carried.paused,
    ...(run.aborted ? { aborted: run.aborted } : {}),
    ended: run.ended,
    total: records.length,
    counts: countStates(records),
    slowest: slowest(records, run.now),
    failed: records
      .filter((r) => r.state === 'rolled-back' || r.state === 'needs-attention')
      .map((r) => ({ secret: r.secret, state: r.state, why: r.why ?? '' })),
    backingOff: Object.entries(carried.backoffUntil)
      .filter(([, until]) => until > run.now)
      .map(([backend, until]) => ({ backend, until })),
    throttles: throttleCounts(carried),
    continuations: carried.continuations,
    ...(carried.refused ? { refused: carried.refused } : {}),
  };
}
