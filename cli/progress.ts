import type { ClusterState, RotationStatus, StageState } from '../core/status';
import { consumerLine } from '../core/consumers';
import { readerLines } from './readers';

const marks: Record<StageState['state'], string> = { pending: '·', running: '▶', done: '✔', skipped: '–', failed: '✘' };

function secs(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))}s`;
}

/** Seconds a stage took, or has been running for; empty for stages that never started. */
function stageElapsed(s: StageState, now: number): string {
  return s.startedAt === undefined ? '' : secs((s.endedAt ?? now) - s.startedAt);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function header(s: RotationStatus): string {
  return `rotation of ${s.secret} (playbook ${s.playbook}) — ${s.trigger} by ${s.requestedBy}${s.reason ? `: ${s.reason}` : ''}`;
}

const pausedHint = (secret: string) => `⏸ paused — resume with: rotor resume ${secret}`;
const approvalHint = (secret: string) => `⏳ awaiting approval — rotor approve ${secret} (or rotor abort ${secret})`;

/** Hints for states where the rotation waits on an operator. */
function waiting(s: RotationStatus): string[] {
  const lines: string[] = [];
  if (s.paused) lines.push(pausedHint(s.secret));
  if (s.awaitingApproval) lines.push(approvalHint(s.secret));
  if (s.attention) lines.push(`⚠ ${s.attention}`);
  return lines;
}

function clusterRows(clusters: ClusterState[]): string[] {
  return table([
    ['cluster', 'wave', 'phase', 'detail'],
    ...clusters.map((c) => [c.name, String(c.wave + 1), c.phase, [c.detail, c.gate].filter(Boolean).join(' · ')]),
  ]);
}

/**
 * The live view for a terminal: stage by stage with elapsed seconds, the per-cluster table, the
 * current and pending versions (ids and fingerprints only), canaries and compensation.
 */
export function renderFrame(s: RotationStatus, now: number = Date.now()): string {
  const lines = [header(s), `phase ${s.phase} · ${secs(now - s.startedAt)} elapsed`, ''];
  lines.push(
    ...table(s.stages.map((st) => [`  ${marks[st.state]} ${st.name}`, stageElapsed(st, now), st.detail ?? ''])),
  );
  if (s.clusters.length > 0) lines.push('', ...clusterRows(s.clusters).map((l) => `  ${l}`));
  const versions: string[][] = [];
  if (s.current) versions.push(['  current', `v${s.current.version}`, s.current.fingerprint]);
  if (s.pending) versions.push(['  pending', `v${s.pending.version}`, s.pending.fingerprint]);
  if (versions.length > 0) lines.push('', ...table(versions));
  if (s.consumers?.length) lines.push('', ...s.consumers.map((c) => `  consumers in ${consumerLine(c)}`));
  if (s.readers?.length) lines.push('', ...readerLines(s.readers).map((l) => `  ${l}`));
  for (const c of s.canaries)
    // Only passed canaries reach the status: a failed one fails its activity and the stage.
    lines.push(`  canary ${c.name}: ✔ ${c.durationMs}ms`);
  for (const c of s.compensation)
    lines.push(`  undo ${c.step}: ${c.ok ? 'ok' : `FAILED — ${c.error ?? 'unknown error'}`}`);
  if (s.failure) lines.push(`  failure: ${s.failure}`);
  const hints = waiting(s);
  if (hints.length > 0) lines.push('', ...hints);
  return lines.join('\n');
}

/**
 * Plain lines describing what changed from `prev` to `next` (everything notable when `prev` is
 * undefined), each prefixed with the time since the rotation started: for logs and pipes.
 */
export function changeLines(
  prev: RotationStatus | undefined,
  next: RotationStatus,
  now: number = Date.now(),
): string[] {
  const lines: string[] = [];
  if (!prev) lines.push(header(next));
  if (prev?.phase !== next.phase) lines.push(`phase ${next.phase}`);
  for (const st of next.stages) {
    const before = prev?.stages.find((x) => x.name === st.name);
    const unchanged = before ? before.state === st.state && before.detail === st.detail : st.state === 'pending';
    if (unchanged) continue;
    const elapsed = st.state === 'running' ? '' : stageElapsed(st, now);
    lines.push(
      `${marks[st.state]} ${st.name} ${st.state}${elapsed ? ` ${elapsed}` : ''}${st.detail ? ` — ${st.detail}` : ''}`,
    );
  }
  for (const c of next.clusters) {
    const before = prev?.clusters.find((x) => x.name === c.name);
    if (before && before.phase === c.phase && before.detail === c.detail && before.gate === c.gate) continue;
    const gate = c.gate && c.gate !== before?.gate ? ` — ${c.gate}` : '';
    lines.push(`cluster ${c.name} (wave ${c.wave + 1}): ${c.phase}${c.detail ? ` — ${c.detail}` : ''}${gate}`);
  }
  if (next.current && next.current.version !== prev?.current?.version)
    lines.push(`current v${next.current.version} ${next.current.fingerprint}`);
  if (next.pending && next.pending.version !== prev?.pending?.version)
    lines.push(`pending v${next.pending.version} ${next.pending.fingerprint}`);
  if (next.consumers && !prev?.consumers) lines.push(...next.consumers.map((c) => `consumers in ${consumerLine(c)}`));
  if (next.readers && !prev?.readers) lines.push(...readerLines(next.readers));
  for (const c of next.canaries.slice(prev?.canaries.length ?? 0)) {
    lines.push(`canary ${c.name}: ok ${c.durationMs}ms`);
  }
  for (const c of next.compensation.slice(prev?.compensation.length ?? 0)) {
    lines.push(`undo ${c.step}: ${c.ok ? 'ok' : `FAILED — ${c.error ?? 'unknown error'}`}`);
  }
  if (next.failure && next.failure !== prev?.failure) lines.push(`failure: ${next.failure}`);
  if (next.paused !== (prev?.paused ?? false)) lines.push(next.paused ? pausedHint(next.secret) : 'resumed');
  if (next.awaitingApproval && !prev?.awaitingApproval) lines.push(approvalHint(next.secret));
  if (next.attention && next.attention !== prev?.attention) lines.push(`⚠ ${next.attention}`);
  const stamp = `+${secs(now - next.startedAt)}`;
  return lines.map((l) => `${stamp} ${l}`);
}
