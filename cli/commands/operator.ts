import { Command } from 'commander';
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
import { runAction } from './run';
import type { OperatorAction } from '../../core/status';

type Action =
  | { kind: 'update'; def: UpdateDefinition<string, [OperatorAction]> }
  | { kind: 'signal'; def: SignalDefinition<[OperatorAction]>; done: string };

/** Every operator command: name, what it does, and how it reaches the workflow. */
const actions: Record<string, { description: string; action: Action }> = {
  approve: {
    description: 'release the approval gate before the old credential is revoked',
    action: { kind: 'update', def: approveUpdate },
  },
  abort: {
    description: 'abort the rotation and roll back (refused past the point of no return)',
    action: { kind: 'update', def: abortUpdate },
  },
  'skip-soak': {
    description: 'end the soak period now',
    action: { kind: 'signal', def: skipSoakSignal, done: 'asked to end the soak now' },
  },
  pause: {
    description: 'hold before the next stage starts',
    action: { kind: 'signal', def: pauseSignal, done: 'paused before the next stage' },
  },
  resume: { description: 'continue a paused rotation', action: { kind: 'signal', def: resumeSignal, done: 'resumed' } },
  retry: {
    description: 'after the point of no return, retry the failing step now',
    action: { kind: 'signal', def: retrySignal, done: 'asked to retry the failing step now' },
  },
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

async function operate(name: string, action: Action, target: string, raw: Record<string, unknown>): Promise<ExitCode> {
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

/** `rotor approve|abort|skip-soak|pause|resume|retry <secret> [--reason …] [--by …]` */
export function operatorCommands(): Command[] {
  return Object.entries(actions).map(([name, { description, action }]) =>
    new Command(name)
      .description(description)
      .argument('<secret>', 'secret name (or a workflow id such as rotate/<secret>)')
      .option('--reason <text>', 'why, recorded with the action')
      .option('--by <who>', 'who is acting (default $USER@hostname)')
      .option('--json', 'print the answer as one JSON line')
      .action(runAction((target: string, opts: Record<string, unknown>) => operate(name, action, target, opts))),
  );
}
