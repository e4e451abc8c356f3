import { rotationWorkflowId } from '../../core/ids';
import { ExitCode } from '../exit-codes';
import { out } from '../output';
import { loadPlaybookDirOrFail } from '../playbook-files';

const days = (ms: number) => `${Math.round(ms / 86_400_000)}d`;

/** `rotor status`: the fleet — last rotation, outcome, next due, overdue, running now. */
export async function status(dir: string, opts: { json?: boolean }): Promise<ExitCode> {
  const entries = await loadPlaybookDirOrFail(dir);
  // The Temporal client (gRPC, protobufs) loads only now: a directory with a bad playbook fails without it.
  const [{ withClient }, { fleetStatus }, { uiLink }] = await Promise.all([
    import('../client'),
    import('../../inspect/fleet'),
    import('../../adapters/temporal/connection'),
  ]);
  const fleet = await withClient((client) => fleetStatus(client, entries));
  if (opts.json) {
    out(JSON.stringify(fleet, null, 2));
    return ExitCode.ok;
  }
  for (const s of fleet) {
    const last = s.lastRotation ? `${s.lastRotation.outcome} ${s.lastRotation.closedAt}` : 'never rotated';
    const flags = [
      s.overdue ? `OVERDUE (interval ${days(s.intervalMs)})` : '',
      s.running ? `rotating now since ${s.running.startedAt}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    out(
      `${s.secret.padEnd(28)} last: ${last.padEnd(36)} next: ${s.nextDue ?? 'no schedule'}${flags ? `  ${flags}` : ''}`,
    );
    if (s.running) out(`  ${uiLink(rotationWorkflowId(s.secret), s.running.runId)}`);
  }
  return ExitCode.ok;
}
