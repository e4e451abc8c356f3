import type { RotationStatus } from '../core/status';

const mark: Record<string, string> = { pending: '·', running: '▶', done: '✔', skipped: '–', failed: '✘' };

function seconds(from?: number, to?: number): string {
  return from === undefined ? '' : `${Math.round(((to ?? Date.now()) - from) / 1000)}s`;
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
  if (s.clusters.length > 0) {
    lines.push('', '| cluster | wave | phase | detail |', '|---|---|---|---|');
    lines.push(...s.clusters.map((c) => `| ${c.name} | ${c.wave + 1} | ${c.phase} | ${c.detail ?? ''} |`));
  }
  if (s.current) lines.push('', `current: v${s.current.version} (${s.current.fingerprint})`);
  if (s.pending) lines.push(`pending: v${s.pending.version} (${s.pending.fingerprint})`);
  if (s.attention) lines.push('', `⚠ ${s.attention}`);
  if (s.failure) lines.push('', `failure: ${s.failure}`);
  for (const c of s.compensation) lines.push(`undo ${c.step}: ${c.ok ? 'ok' : `FAILED — ${c.error ?? ''}`}`);
  return lines.join('\n');
}
