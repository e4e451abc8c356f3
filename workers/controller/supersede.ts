/**
 * An emergency RotationRequest meeting a running rotation of its playbook (issue 24, `identity:
 * kubernetes`): before the point of no return rotor's controller aborts that run with its own
 * vouched abort (the run rolls back, naming who and why), past it the run is revoking the very
 * credential the emergency wants gone and is left to finish forward. Either way the emergency
 * starts only once that run has ended. Each pass is idempotent: the abort carries an update id of
 * the request, so a controller that restarts between abort and start aborts nothing twice.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { RotorObject } from '../../adapters/kubernetes/rotor-resources';
import type { RotationRequestSpec } from '../../core/resources';
import type { RotationStatus } from '../../core/status';
import { abortAnswer, supersedeReason } from '../../core/supersede';
import type { SupersededRun } from '../../core/supersede';
import { statusQuery } from '../../workflows/definitions';
import { sendAction } from './actions';
import type { ControllerDeps } from './deps';

/** Wait for `run` to end (`detail`: what it is doing), or the abort was refused (`refused`: why). */
export type SupersedeStep = { wait: SupersededRun; detail?: string } | { refused: string };

/** The update id of the abort a request sends: Temporal takes it once per run. */
export const supersedeUpdateId = (requestUid: string) => `supersede/${requestUid}`;

/** What a run past the point of no return is doing, for the request's status. */
const doing = (s: RotationStatus | undefined) =>
  s ? `phase ${s.phase}${s.attention ? `, needs attention: ${s.attention}` : ''}` : undefined;

/**
 * One step of making way for the emergency request `obj` (spec `spec`) past the running rotation
 * `current`: aborts it unless the request's status records that it did (a repeat after a lost
 * status write is deduplicated by the update id), or leaves it to finish past the point of no
 * return. Writes nothing: the caller records the step on the request's status.
 */
export async function makeWay(
  deps: ControllerDeps,
  obj: RotorObject,
  spec: RotationRequestSpec,
  current: WorkflowExecutionDescription,
): Promise<SupersedeStep> {
  const { workflowId, runId } = current;
  const running = { workflowId, runId, outcome: 'Running' };
  const recorded = obj.status?.superseded;
  if (recorded?.runId === runId && recorded.how === 'Aborted') return { wait: recorded };
  const status = await deps.client.workflow
    .getHandle(workflowId, runId)
    .query(statusQuery)
    .catch((): RotationStatus | undefined => undefined);
  const waitForward = (): SupersedeStep => {
    const detail = doing(status);
    return { wait: { ...running, how: 'WaitedPastPointOfNoReturn' }, ...(detail ? { detail } : {}) };
  };
  if (status?.pointOfNoReturn) return waitForward();
  const reason = supersedeReason(obj.metadata.name, spec.requestedBy, spec.reason);
  const sent = await sendAction(
    deps,
    current,
    'abort',
    { by: spec.requestedBy, reason },
    supersedeUpdateId(obj.metadata.uid),
  );
  switch (abortAnswer(sent.ok, sent.answer)) {
    case 'aborting':
      return { wait: { ...running, how: 'Aborted' } };
    case 'past-point-of-no-return':
      return waitForward();
    case 'refused':
      return { refused: `the running rotation ${workflowId} (run ${runId}) refused the abort: ${sent.answer}` };
  }
}
