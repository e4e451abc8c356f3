import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { uiLink } from '../../adapters/temporal/connection';
import {
  abortUpdate,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  retrySignal,
  skipSoakSignal,
} from '../../workflows/definitions';
import { operatorOptionsSchema, parseArgs, targetSchema } from '../args';
import type { OperatorOptions } from '../args';
import { withClient } from '../client';
import { innermostMessage } from '../outcome';
import { CliError, ExitCode } from '../exit-codes';
import { workflowIdOf } from '../identity';
import { jsonLine, out } from '../output';
import type { OperatorAction } from '../../core/status';
import type { OperatorName } from '../operator-names';

type Action =
  | { kind: 'update'; def: UpdateDefinition<string, [OperatorAction]> }
  | { kind: 'signal'; def: SignalDefinition<[OperatorAction]>; done: string };

/** How each operator command reaches the workflow: an update answers, a signal only arrives. */
const actions: Record<OperatorName, Action> = {
  approve: { kind: 'update', def: approveUpdate },
  abort: { kind: 'update', def: abortUpdate },
  'skip-soak': { kind: 'signal', def: skipSoakSignal, done: 'asked to end the soak now' },
  pause: { kind: 'signal', def: pauseSignal, done: 'paused before the next stage' },
  resume: { kind: 'signal', def: resumeSignal, done: 'resumed' },
  retry: { kind: 'signal', def: retrySignal, done: 'asked to retry the failing step now' },
};

async function send(handle: WorkflowHandle, action: Action, args: OperatorAction): Promise<string> {
  if (action.kind === 'signal') {
    await handle.signal(action.def, args);
    return action.done;
  }
  try {
    return await handle.executeUpdate(action.def, { args: [args] });
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) throw new CliError(`rotor: rejected: ${innermostMessage(e)}`);
    throw e;
  }
}

/** `rotor <operator command> <secret>`: sends the action to the secret's running rotation. */
export async function operate(name: OperatorName, target: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const action = actions[name];
  const o: OperatorOptions = parseArgs(operatorOptionsSchema, raw);
  const workflowId = workflowIdOf(parseArgs(targetSchema, target));
  const args: OperatorAction = { by: o.by, ...(o.reason ? { reason: o.reason } : {}) };
  return withClient(async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    let answer: string;
    try {
      answer = await send(handle, action, args);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError)
        throw new CliError(
          `rotor: ${name}: no running rotation ${workflowId} (${innermostMessage(e)})\n  ${uiLink(workflowId)}`,
        );
      if (e instanceof CliError) throw new CliError(`${e.message}\n  ${uiLink(workflowId)}`);
      throw e;
    }
    const link = uiLink(workflowId);
    if (o.json) jsonLine({ event: name, workflowId, by: o.by, answer, uiLink: link });
    else out(`${name} ${workflowId}: ${answer}\n  ${link}`);
    return ExitCode.ok;
  });
}
