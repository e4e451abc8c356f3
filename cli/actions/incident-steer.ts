import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { uiLink } from '../../adapters/temporal/connection';
import { incidentWorkflowId } from '../../core/ids';
import type { IncidentReport } from '../../core/incident/types';
import type { OperatorAction } from '../../core/status';
import {
  abortIncidentUpdate,
  incidentStatusQuery,
  pauseIncidentSignal,
  resumeIncidentSignal,
} from '../../workflows/incident/definitions';
import { operatorOptionsSchema, parseArgs } from '../args';
import { withClient } from '../client';
import { CliError, ExitCode } from '../exit-codes';
import { incidentIdSchema } from '../incident-args';
import { reportLines, statusLines } from '../incident-view';
import { jsonLine, out } from '../output';
import { innermostMessage } from '../outcome';

/** Runs `fn` on the incident's handle; an unknown incident fails naming the id and where to look. */
async function onIncident<T>(id: string, what: string, fn: (client: Client, workflowId: string) => Promise<T>) {
  const workflowId = incidentWorkflowId(parseArgs(incidentIdSchema, id));
  return withClient(async (client) => {
    try {
      return await fn(client, workflowId);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) {
        // A closed incident answers "not found" to signals and updates: say it ended instead.
        const closed = await client.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => undefined);
        throw new CliError(
          closed
            ? `rotor: incident ${what}: rejected: incident ${workflowId} has ended (${closed.status.name}); see rotor incident status ${workflowId}\n  ${uiLink(workflowId)}`
            : `rotor: incident ${what}: no incident ${workflowId} (${innermostMessage(e)})\n  ${uiLink(workflowId)}`,
        );
      }
      if (e instanceof WorkflowUpdateFailedError)
        throw new CliError(`rotor: rejected: ${innermostMessage(e)}\n  ${uiLink(workflowId)}`);
      throw e;
    }
  });
}

/** `rotor incident status <id>`: counts, slowest and failed; the report once the incident ended. */
export function incidentStatus(id: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const json = raw['json'] === true;
  return onIncident(id, 'status', async (client, workflowId) => {
    const handle = client.workflow.getHandle(workflowId);
    const running = (await handle.describe()).status.name === 'RUNNING';
    const report = running ? undefined : ((await handle.result().catch(() => undefined)) as IncidentReport | undefined);
    const status = await handle.query(incidentStatusQuery);
    if (json) jsonLine({ event: 'status', workflowId, status, ...(report ? { report } : {}) });
    else for (const line of report ? reportLines(report) : statusLines(status)) out(line);
    return ExitCode.ok;
  });
}

/** `rotor incident pause|resume|abort <id>`. */
export function steerIncident(
  name: 'pause' | 'resume' | 'abort',
  id: string,
  raw: Record<string, unknown>,
): Promise<ExitCode> {
  const o = parseArgs(operatorOptionsSchema, raw);
  const action: OperatorAction = { by: o.by, ...(o.reason ? { reason: o.reason } : {}) };
  return onIncident(id, name, async (client, workflowId) => {
    const handle = client.workflow.getHandle(workflowId);
    let answer: string;
    if (name === 'abort') answer = await handle.executeUpdate(abortIncidentUpdate, { args: [action] });
    else {
      await handle.signal(name === 'pause' ? pauseIncidentSignal : resumeIncidentSignal, action);
      answer = name === 'pause' ? 'paused: no new rotation starts' : 'resumed';
    }
    if (o.json) jsonLine({ event: `incident-${name}`, workflowId, by: o.by, answer });
    else out(`incident ${name} ${workflowId}: ${answer}\n  ${uiLink(workflowId)}`);
    return ExitCode.ok;
  });
}
