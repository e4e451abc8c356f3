import type { IncidentReport, IncidentStatus } from '../core/incident/types';
import { childStates } from '../core/incident/types';
import { ExitCode } from './exit-codes';

/** `3 rotated, 1 running, …`: the non-zero counts in state order. */
export function countsLine(counts: IncidentStatus['counts']): string {
  const parts = childStates.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'nothing selected';
}

/** `  throttled: vault 12, secretsmanager/eu-west-1 1`, or nothing when no backend throttled. */
function throttleLines(throttles: Record<string, number>): string[] {
  const parts = Object.entries(throttles).map(([b, n]) => `${b} ${n}`);
  return parts.length ? [`  throttled: ${parts.join(', ')}`] : [];
}

/** The status as `rotor incident status` prints it. */
export function statusLines(s: IncidentStatus): string[] {
  const state = s.aborted ? `aborted by ${s.aborted.by}` : s.ended ? 'ended' : s.paused ? 'PAUSED' : 'running';
  return [
    `incident ${s.incidentId}: ${state} — ${countsLine(s.counts)} of ${s.total}`,
    `  ${s.compromised ? 'compromised; ' : ''}requested by ${s.requestedBy}: ${s.reason} (${s.selection})`,
    ...(s.slowest.length
      ? [`  slowest: ${s.slowest.map((r) => `${r.secret} ${r.seconds}s (${r.state})`).join(', ')}`]
      : []),
    ...s.failed.map((f) => `  ${f.state} ${f.secret}: ${f.why}`),
    ...s.backingOff.map((b) => `  backing off ${b.backend} until ${new Date(b.until).toISOString()}`),
    ...throttleLines(s.throttles ?? {}),
  ];
}

/** The report an ended incident returns, one rotation per line with why. */
export function reportLines(r: IncidentReport): string[] {
  return [
    `incident ${r.incidentId} ended: ${r.outcome}${r.aborted ? ` (aborted by ${r.aborted.by}${r.aborted.reason ? `: ${r.aborted.reason}` : ''})` : ''} — ${countsLine(r.counts)}`,
    ...r.rotated.map((s) => `  rotated          ${s}`),
    ...r.rolledBack.map((s) => `  rolled back      ${s.secret}: ${s.why}`),
    ...r.needsAttention.map((s) => `  needs attention  ${s.secret}: ${s.why}`),
    ...r.skipped.map((s) => `  skipped          ${s.secret}: ${s.why}`),
    ...r.notStarted.map((s) => `  not started      ${s}`),
    ...throttleLines(r.throttles ?? {}),
  ];
}

/** The exit code of an incident's outcome, as `rotor rotate --wait` has for one rotation. */
export function incidentExitCode(r: IncidentReport): ExitCode {
  switch (r.outcome) {
    case 'rotated':
      return ExitCode.ok;
    case 'needs-attention':
      return ExitCode.attention;
    default:
      return ExitCode.rolledBack;
  }
}
