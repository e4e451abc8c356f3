import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Playbook } from '../../core/playbook/schema';
import { temporalSettings, uiLink } from '../../adapters/temporal/connection';
import { evictSquatter, squatterOf } from '../../adapters/temporal/rotation-squatters';
import { rotationWorkflowType } from '../../core/ui-views';
import type { rotationWorkflow } from '../../workflows/rotation';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../../core/search-attributes';
import { parseArgs, rotateOptionsSchema } from '../args';
import type { RotateOptions } from '../args';
import { withClient } from '../client';
import { supersede } from '../supersede';
import { loadPlaybookOrFail } from '../playbook-files';
import { CliError, ExitCode } from '../exit-codes';
import { follow } from '../follow';
import { jsonLine, out } from '../output';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput } from '../../core/status';

/** The workflow input for a playbook and the command's options. */
export function rotationInput(playbook: Playbook, file: string, o: RotateOptions): RotationInput {
  const input: RotationInput = {
    playbook,
    playbookFile: file,
    trigger: o.emergency ? 'emergency' : 'manual',
    requestedBy: o.requestedBy,
  };
  if (o.reason) input.reason = o.reason;
  if (o.emergency) input.emergency = { compromised: o.compromised };
  return input;
}

/** The refusal when the secret is already rotating, naming the running run and where to see it. */
async function alreadyRunning(client: Client, workflowId: string, secret: string): Promise<CliError> {
  const d = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => undefined);
  const link = uiLink(workflowId, d?.runId);
  const since = d ? ` since ${d.startTime.toISOString()}` : '';
  return new CliError(
    `rotor: a rotation of ${secret} is already running: workflow ${workflowId}${since}\n  ${link}\n` +
      `  follow it with: rotor watch ${secret}   (or stop it with: rotor abort ${secret} --reason …)`,
  );
}

/** `rotor rotate`: starts the rotation of a playbook's secret and, with --wait, follows it. */
export async function rotate(file: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(rotateOptionsSchema, raw);
  const playbook = await loadPlaybookOrFail(file);
  const input = rotationInput(playbook, file, o);
  const secret = playbook.spec.secret.name;
  const workflowId = rotationWorkflowId(secret);
  return withClient(async (client) => {
    const start = async () =>
      (
        await client.workflow.start<typeof rotationWorkflow>('rotationWorkflow', {
          taskQueue: temporalSettings().taskQueue,
          workflowId,
          args: [input],
          staticSummary: `rotate ${secret} (${input.trigger}) by ${input.requestedBy}`,
          typedSearchAttributes: [
            { key: RotationSecret, value: secret },
            { key: RotationPlaybook, value: playbook.metadata.name },
            { key: RotationTrigger, value: input.trigger },
            { key: RotationPhase, value: 'plan' },
          ],
        })
      ).firstExecutionRunId;
    let runId: string;
    try {
      runId = await start();
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      // A workflow that is not rotor's holding the id is no rotation to wait for: it goes.
      const holder = await evictSquatter(
        client,
        workflowId,
        { type: rotationWorkflowType, taskQueue: temporalSettings().taskQueue },
        (why) => `rotor rotate: terminated ${squatterOf(workflowId, why)}`,
      );
      if ('evicted' in holder) {
        const evicted = `terminated ${squatterOf(workflowId, holder.evicted)}`;
        if (o.json) jsonLine({ event: 'squatter-terminated', workflowId, detail: evicted });
        else out(evicted);
      } else {
        if (!o.emergency) throw await alreadyRunning(client, workflowId, secret);
        // An emergency does not queue behind a routine rotation: supersede it safely, then start.
        const note = (line: string) =>
          o.json ? jsonLine({ event: 'superseding', workflowId, detail: line }) : out(line);
        note(
          `a rotation of ${secret} is running; superseding it for this emergency (its compensation runs to the end first)`,
        );
        const done = await supersede(
          client,
          workflowId,
          { by: o.requestedBy, reason: o.reason ?? 'emergency' },
          o.supersedeWait,
        );
        note(`previous ${done.trigger || ''} run ${done.runId}: ${done.action}`);
      }
      runId = await start();
    }
    const link = uiLink(workflowId, runId);
    if (o.json) {
      jsonLine({
        event: 'started',
        workflowId,
        runId,
        secret,
        trigger: input.trigger,
        requestedBy: input.requestedBy,
        uiLink: link,
      });
    } else {
      out(`started ${input.trigger} rotation of ${secret}: workflow ${workflowId} run ${runId}`);
      out(`  ${link}`);
      if (!o.wait) out(`  follow it with: rotor watch ${secret}`);
    }
    if (!o.wait) return ExitCode.ok;
    return follow(client, workflowId, { json: o.json, runId, taskQueue: temporalSettings().taskQueue });
  });
}
