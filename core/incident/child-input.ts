/**
 * What an incident starts for each target: shared by the incident workflow and rotor's controller,
 * which vouches for exactly this input (`identity: kubernetes`) before the incident starts it.
 */
import { rotationWorkflowId } from '../ids';
import type { RotationInput } from '../status';
import type { IncidentInput, IncidentTarget } from './types';

/** Workflow id of the target's rotation: scoped to the incident's namespace when it has one. */
export const incidentRotationId = (input: Pick<IncidentInput, 'namespace'>, target: IncidentTarget): string =>
  rotationWorkflowId(target.playbook.spec.secret.name, input.namespace);

/** The emergency rotation of one target, exactly as `rotor rotate --emergency [--compromised]` starts it. */
export function childInput(input: IncidentInput, incidentId: string, target: IncidentTarget): RotationInput {
  return {
    playbook: target.playbook,
    playbookFile: target.playbookFile,
    trigger: 'emergency',
    requestedBy: input.requestedBy,
    reason: `incident ${incidentId}: ${input.reason}`,
    emergency: { compromised: input.compromised },
    ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
    ...(target.attestation !== undefined ? { attestation: target.attestation } : {}),
  };
}
