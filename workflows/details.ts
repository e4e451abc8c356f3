import { consumerLine } from '../core/consumers';
import type { RotationStatus } from '../core/status';

const mark: Record<string, string> = { pending: '·', running: '▶', done: '✔', skipped: '–', failed: '✘' };

function seconds(from?: number, to?: number): string {
  return from === undefined ? '' : `${Math.round(((to ?? Date.now()) - from) / 1000)}s`;
}

/** Above this many clusters the table shows counts by phase and only the failed clusters. */
const fullTableUpTo = 20;
const problemRows = 50;

/** The per-cluster table; with a large fleet, a phase count and the failed clusters first. */
function clusterLines(clusters: RotationStatus['clusters']): string[] {
  const row = (c: RotationStatus['clusters'][number]) =>
    `| ${c.name} | ${c.wave + 1} | ${c.phase} | ${c.detail ?? ''} | ${c.gate ?? ''} |`;
  const head = ['| cluster | wave | phase | detail | consumer gate |', '|---|---|---|---|---|'];
  if (clusters.length <= fullTableUpTo) return [...head, ...clusters.map(row)];
  const counts = new Map<string, number>();
  for (const c of clusters) counts.set(c.phase, (counts.get(c.phase) ?? 0) + 1);
  const failed = clusters.filter((c) => c.phase === 'failed');
  return [
    `${clusters.length} clusters: ${[...counts].map(([phase, n]) => `${n} ${phase}`).join(', ')}`,
    ...(failed.length
      ? ['', '**failed clusters**', ...head, ...failed.slice(0, problemRows).map(row)]
      : ['no cluster has failed']),
    ...(failed.length > problemRows
      ? [`… and ${failed.length - problemRows} more failed (rotor status shows all)`]
      : []),
  ];
}

/**
 * Markdown for the Temporal UI's "current details": stages and the per-cluster table. Built from
 * the status only, so it holds names, phases, versions and fingerprints — never values.
 */
export function renderDetails(s: RotationStatus): string {
  const lines = [
    `**${s.secret}** — phase **${s.phase}**${s.paused ? ' (paused)' : ''}${s.awaitingApproval ? ' — awaiting approval' : ''}`,
    `trigger ${s.trigger} by ${s.requestedBy}${s.reason ? ` — ${s.reason}` : ''}`,
    '',
    '| stage | state | time | detail |',
    '|---|---|---|---|',
    ...s.stages.map(
      (st) =>
        `| ${st.name} | ${mark[st.state] ?? ''} ${st.state} | ${seconds(st.startedAt, st.endedAt)} | ${st.detail ?? ''} |`,
    ),
  ];
  if (s.clusters.length > 0) lines.push('', ...clusterLines(s.clusters));
  if (s.consumers?.length)
    lines.push('', ...s.consumers.slice(0, fullTableUpTo).map((c) => `consumers in ${consumerLine(c)}`));
  if (s.current) lines.push('', `current: v${s.current.version} (${s.current.fingerprint})`);
  if (s.pending) lines.push(`pending: v${s.pending.version} (${s.pending.fingerprint})`);
  if (s.attention) lines.push('', `⚠ ${s.attention}`);
  if (s.failure) lines.push('', `failure: ${s.failure}`);
  for (const c of s.compensation) lines.push(`undo ${c.step}: ${c.ok ? 'ok' : `FAILED — ${c.error ?? ''}`}`);
  return lines.join('\n');
}
