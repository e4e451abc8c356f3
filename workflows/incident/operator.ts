/**
 * Pause, resume and abort of an incident (issue 24). Under `identity: kubernetes` — an incident
 * rotor's controller started, its targets carrying the controller's attestations — each must carry
 * the controller's attestation of that action, user and incident (its first run), taken once: a
 * Temporal client holding the codec key cannot make one. A refused abort fails NotFromController;
 * a refused signal (Temporal cannot reject one) is counted in the status, logged, and changes
 * nothing. An incident of `rotor incident start` (no attestations) takes the actions as before.
 */
import { ApplicationFailure, log } from '@temporalio/workflow';
import { WorkflowErrorTypes } from '../../core/failures';
import type { IncidentCarried, IncidentInput } from '../../core/incident/types';
import { refusedSignalsKept } from '../../core/status';
import type { OperatorAction } from '../../core/status';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { operatorAction } from '../rotation/handlers';

/** What the handlers read and change of the running incident. */
export interface IncidentControls {
  input: IncidentInput;
  carried: IncidentCarried;
  /** Wakes the incident's loop and publishes. */
  changed: () => void;
}

/** Whether rotor's controller started the incident (`identity: kubernetes`): its targets are attested. */
export const attestedIncident = (input: IncidentInput): boolean => input.targets.some((t) => t.attestation);

/** Counts and logs a refused `action`; nothing else changes. */
function recordRefusal(c: IncidentControls, action: string, by: string, why: string): void {
  const refused = (c.carried.refused ??= { count: 0, last: [] });
  refused.count++;
  refused.last = [...refused.last, { action, by, at: Date.now(), why: why.slice(0, 500) }].slice(-refusedSignalsKept);
  log.warn('incident refused an operator action', { action, by, why });
  c.changed();
}

/** The NotFromController failure a refused abort fails with. */
const notFromController = (message: string) =>
  ApplicationFailure.create({ type: WorkflowErrorTypes.notFromController, message, nonRetryable: true });

/** Why `op`'s attestation was taken by this incident already (undefined: it was not). */
function spentProblem(c: IncidentControls, action: string, op: OperatorAction): string | undefined {
  const mac = op.attestation?.mac;
  if (typeof mac !== 'string' || !(c.carried.spentAttestations ?? []).includes(mac)) return undefined;
  return `incident ${action} by ${op.by} refused, nothing was changed: its attestation was used already by this incident (a copy replayed); create another RotationApproval with \`rotor incident ${action} <RotationIncident> --via-kube\``;
}

/**
 * Why the incident should refuse `op`'s `action` (undefined: rotor's controller vouched for it, and
 * its attestation is now spent). An activity checks the attestation: the key is the worker's.
 */
async function attestationRefusal(
  c: IncidentControls,
  action: string,
  op: OperatorAction,
): Promise<string | undefined> {
  const spent = spentProblem(c, action, op);
  if (spent) return spent;
  const { refused } = await callActivity(
    acts.verifyOperatorAction,
    profiles.store,
    `check that incident ${action} came through rotor's controller`,
    { action, operator: op },
  );
  if (refused) return `incident ${refused}`;
  // A copy sent while the first was being checked: the first to come back takes it.
  const raced = spentProblem(c, action, op);
  if (raced) return raced;
  (c.carried.spentAttestations ??= []).push(String(op.attestation?.mac));
  return undefined;
}

/**
 * The incident's handlers of pause and resume (signals) and abort (an update): `pause`, `resume`
 * and `abort` change the incident; `validateAbort` throws when an abort cannot be taken (ended,
 * aborted already). Under `identity: kubernetes` actions are checked and applied in the order
 * they came.
 */
export function operatorHandlers(
  c: IncidentControls,
  apply: {
    pause: (op: OperatorAction) => void;
    resume: (op: OperatorAction) => void;
    abort: (op: OperatorAction) => string;
  },
  validateAbort: () => void,
) {
  const attested = attestedIncident(c.input);
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs `step` after the actions before it; a failing step does not stop the ones after. */
  const inOrder = <R>(step: () => Promise<R>): Promise<R> => {
    const next = queue.then(step);
    queue = next.catch(() => undefined);
    return next;
  };
  const signal =
    (action: 'pause' | 'resume') =>
    (arg?: OperatorAction): void | Promise<void> => {
      const op = operatorAction(arg);
      if (!op)
        return recordRefusal(
          c,
          action,
          'unknown (no codec key)',
          "it carried no operator action encrypted with rotor's codec key (sent by a client without the key?)",
        );
      if (!attested) return apply[action](op);
      return inOrder(async () => {
        const refused = await attestationRefusal(c, action, op);
        if (refused) recordRefusal(c, action, op.by, refused);
        else apply[action](op);
      });
    };
  const abort = (op: OperatorAction): string | Promise<string> => {
    if (!attested) return apply.abort(op);
    return inOrder(async () => {
      const refused = await attestationRefusal(c, 'abort', op);
      if (refused) {
        recordRefusal(c, 'abort', op.by, refused);
        throw notFromController(refused);
      }
      validateAbort(); // the incident may have ended while the action was checked
      return apply.abort(op);
    });
  };
  const abortValidator = (op: OperatorAction): void => {
    const spent = attested ? spentProblem(c, 'abort', op) : undefined;
    if (spent) throw notFromController(spent);
    validateAbort();
  };
  return { pause: signal('pause'), resume: signal('resume'), abort, abortValidator };
}
