import { temporalSettings } from '../../adapters/temporal/connection';
import { withClient } from '../client';
import { ExitCode } from '../exit-codes';
import { jsonLine, out } from '../output';
import { loadPlaybookDirOrFail } from '../playbook-files';
import { cliPolicy } from '../policy-check';
import { syncSchedules } from '../schedules';
import { listSchedules } from '../../inspect/schedules';

/** `rotor schedule sync <dir>`: exactly one schedule per playbook in `dir`; idempotent. */
export async function scheduleSync(dir: string, opts: { json?: boolean }): Promise<ExitCode> {
  const entries = await loadPlaybookDirOrFail(dir);
  // Under a multi-tenant policy (ROTOR_POLICY_FILE) sync touches only its playbooks' tenants' schedules.
  const policy = cliPolicy(undefined);
  const result = await withClient((client) => syncSchedules(client, entries, temporalSettings().taskQueue, policy));
  if (opts.json) jsonLine({ ...result });
  else {
    for (const [what, ids] of Object.entries(result)) for (const id of ids as string[]) out(`${what.padEnd(9)} ${id}`);
    out(
      `${entries.length} playbook(s): ${result.created.length} created, ${result.updated.length} updated, ${result.unchanged.length} unchanged, ${result.deleted.length} deleted`,
    );
  }
  return ExitCode.ok;
}

/** `rotor schedule list`: each rotor schedule and its secret's next run. */
export async function scheduleList(opts: { json?: boolean }): Promise<ExitCode> {
  const list = await withClient((client) => listSchedules(client));
  for (const s of list) {
    if (opts.json) jsonLine({ ...s, nextRuns: s.nextRuns.map((d) => d.toISOString()) });
    else out(`${s.secret.padEnd(32)} next ${s.nextRuns[0]?.toISOString() ?? '-'}${s.paused ? ' (paused)' : ''}`);
  }
  if (!opts.json && list.length === 0) out('no rotor schedules; run: rotor schedule sync <dir>');
  return ExitCode.ok;
}
