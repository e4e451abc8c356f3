import type { IncidentStatus } from '../../core/incident/types';
import { childStates } from '../../core/incident/types';

/**
 * Markdown for the Temporal UI's "current details" of an incident: counts per state, the slowest
 * and the failed rotations. Built from the status only: names, states and reasons, never values.
 */
export function renderIncidentDetails(s: IncidentStatus): string {
  const state = s.aborted
    ? `aborted by ${s.aborted.by}${s.aborted.reason ? ` — ${s.aborted.reason}` : ''}`
    : s.paused
      ? 'paused: no new rotation starts'
      : s.ended
        ? 'ended'
        : 'running';
  const lines = [
    `**incident ${s.incidentId}** — ${state}`,
    `${s.compromised ? 'compromised, ' : ''}requested by ${s.requestedBy} — ${s.reason}`,
    `selection: ${s.selection} (${s.total} playbooks)`,
    '',
    '| state | rotations |',
    '|---|---|',
    ...childStates.map((c) => `| ${c} | ${s.counts[c]} |`),
  ];
  if (s.slowest.length > 0)
    lines.push('', '**slowest**', ...s.slowest.map((r) => `- ${r.secret}: ${r.seconds}s (${r.state})`));
  if (s.failed.length > 0)
    lines.push('', '**failed**', ...s.failed.slice(0, 20).map((r) => `- ${r.secret} ${r.state}: ${r.why}`));
  if (s.backingOff.length > 0)
    lines.push('', ...s.backingOff.map((b) => `backing off ${b.backend} until ${new Date(b.until).toISOString()}`));
  return lines.join('\n');
}
