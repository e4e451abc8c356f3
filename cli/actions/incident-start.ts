import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { temporalSettings, uiLink } from '../../adapters/temporal/connection';
import { incidentWorkflowId } from '../../core/ids';
import { describeSelector, selects } from '../../core/incident/select';
import type { IncidentSelector } from '../../core/incident/select';
import type { IncidentInput, IncidentReport } from '../../core/incident/types';
import type { incidentWorkflow } from '../../workflows/incident';
import { incidentStatusQuery } from '../../workflows/incident/definitions';
import { parseArgs } from '../args';
import { withClient } from '../client';
import { CliError } from '../exit-codes';
import type { ExitCode } from '../exit-codes';
import { incidentStartOptionsSchema } from '../incident-args';
import type { IncidentStartOptions } from '../incident-args';
import { countsLine, incidentExitCode, reportLines } from '../incident-view';
import { err, jsonLine, out } from '../output';
import { readableBy } from '../readable-by';
import { loadPlaybookDirOrFail } from '../playbook-files';

/** `20261203-051200-3fa1`: the UTC time and a random suffix. */
function defaultId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}

/** The playbooks of `dir` the options select; none, or one secret twice, fails naming what to do. */
export async function selectTargets(dir: string, o: IncidentStartOptions) {
  const selector: IncidentSelector = {
    ...(o.selector ? { labels: o.selector } : {}),
    ...(o.store ? { store: o.store } : {}),
    ...(o.cluster ? { cluster: o.cluster } : {}),
  };
  const all = await loadPlaybookDirOrFail(dir);
  const matching = all.filter((p) => selects(selector, p.playbook));
  const chosen = o.readableBy ? await readableBy(o.readableBy, matching, err) : matching;
  const selection = `${describeSelector(selector)}${o.readableBy ? ` readable by ${o.readableBy}` : ''}`;
  if (chosen.length === 0)
    throw new CliError(
      `rotor: no playbook in ${dir} matches ${selection} (${all.length} playbooks read); nothing was started`,
    );
  const files = new Map<string, string>();
  for (const { file, playbook } of chosen) {
    const other = files.get(playbook.spec.secret.name);
    if (other)
      throw new CliError(
        `rotor: ${file} and ${other} both rotate secret ${playbook.spec.secret.name}; narrow the selection; nothing was started`,
      );
    files.set(playbook.spec.secret.name, file);
  }
  return { targets: chosen.map((c) => ({ playbook: c.playbook, playbookFile: c.file })), selection };
}

/** Polls the incident until it ends, printing each change of its counts; returns its report. */
async function followIncident(handle: WorkflowHandle<typeof incidentWorkflow>, json: boolean): Promise<IncidentReport> {
  let last = '';
  const ended = handle.result();
  for (;;) {
    const done = await Promise.race([ended.then(() => true), sleep(2_000).then(() => false)]);
    if (done) return ended;
    const s = await handle.query(incidentStatusQuery).catch(() => undefined);
    const line = s ? `${s.paused ? 'PAUSED ' : ''}${countsLine(s.counts)}` : '';
    if (s && line !== last) {
      last = line;
      if (json) jsonLine({ event: 'progress', workflowId: handle.workflowId, counts: s.counts, paused: s.paused });
      else out(`  ${line}`);
    }
  }
}

/** `rotor incident start <dir>`: selects playbooks and starts one incident rotating them all. */
export async function startIncident(dir: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(incidentStartOptionsSchema, raw);
  const { targets, selection } = await selectTargets(dir, o);
  if (o.dryRun) {
    const secrets = targets.map((t) => t.playbook.spec.secret.name);
    if (o.json) jsonLine({ event: 'selected', selection, secrets });
    else for (const t of targets) out(`would rotate ${t.playbook.spec.secret.name} (${t.playbookFile})`);
    return 0;
  }
  const workflowId = incidentWorkflowId(o.id ?? defaultId());
  const input: IncidentInput = {
    reason: o.reason,
    requestedBy: o.requestedBy,
    compromised: o.compromised,
    selection,
    targets,
    concurrency: o.concurrency,
    perBackend: o.perBackend,
  };
  return withClient(async (client) => {
    const handle = await client.workflow.start<typeof incidentWorkflow>('incidentWorkflow', {
      taskQueue: temporalSettings().taskQueue,
      workflowId,
      args: [input],
      staticSummary: `incident: ${targets.length} emergency rotations (${selection}) by ${o.requestedBy}`,
    });
    const secrets = targets.map((t) => t.playbook.spec.secret.name);
    const link = uiLink(workflowId, handle.firstExecutionRunId);
    if (o.json) jsonLine({ event: 'started', workflowId, runId: handle.firstExecutionRunId, secrets, uiLink: link });
    else {
      out(`started incident ${workflowId}: ${secrets.length} emergency rotation(s) of ${selection}`);
      for (const s of secrets) out(`  ${s}`);
      out(`  ${link}`);
      if (!o.wait) out(`  follow it with: rotor incident status ${workflowId}`);
    }
    if (!o.wait) return 0;
    const report = await followIncident(handle, o.json);
    if (o.json) jsonLine({ event: 'ended', workflowId, ...report });
    else for (const line of reportLines(report)) out(line);
    return incidentExitCode(report);
  });
}
