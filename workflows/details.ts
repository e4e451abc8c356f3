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
  if (s.refusedSignals)
    lines.push(
      '',
      `⚠ ${s.refusedSignals.count} signal(s) refused: not encrypted with rotor's codec key (last: ${s.refusedSignals.last.map((r) => r.signal).join(', ')})`,
    );
  // One list, so markdown keeps each on a line of its own.
  const problems = [
    ...(s.failure ? [`failure: ${s.failure}`] : []),
    ...s.clusters
      .filter((c) => c.failure !== undefined)
      .slice(0, 5)
      .map((c) => `failing cluster: **${c.name}** — ${c.failure ?? ''}${c.gate ? ` (consumer gate: ${c.gate})` : ''}`),
    ...s.compensation.map((c) => `undo ${c.step}: ${c.ok ? 'ok' : `FAILED — ${c.error ?? ''}`}`),
  ];
  if (problems.length > 0) lines.push('', ...problems.map((p) => `- ${p}`));
  const next = nextStep(s);
  if (next) lines.push('', `**next:** ${next}`);
  return lines.join('\n');
}

/** What the operator does now, for the phases that need someone (docs/failures.md explains each). */
function nextStep(s: RotationStatus): string | undefined {
  switch (s.phase) {
    case 'rolled-back':
      return `consumers read the old version again and the new one is discarded; fix the failure above, then \`rotor rotate\` the playbook ${s.playbook} again`;
    case 'needs-attention':
      return `past the point of no return, so rotor will not roll back: fix the cause, then \`rotor retry ${s.secret}\` (it also retries on its own)`;
    case 'compensation-failed':
      return 'an undo failed (see the undo lines): finish it by hand as docs/failures.md#rotationcompensationfailed says, before rotating again';
    case 'refused':
      return 'nothing was changed; the failure above names the rule or the lock';
    default:
      return s.awaitingApproval ? `\`rotor approve ${s.secret}\` (or \`rotor abort ${s.secret}\`)` : undefined;
  }
}
