import { sameActor } from './actors';
import type { PolicyRefusal } from './refusal';
import type { Policy } from './schema';

/**
 * Whether the policy lets `requestedBy` declare a credential compromised (`policy.compromise`):
 * one refusal when the rotation claims a compromise and the requester is in none of the
 * `declaredBy` groups, else none. A rotation that claims none is never refused here.
 */
export function compromiseRefusals(policy: Policy, requestedBy: string, compromised: boolean): PolicyRefusal[] {
  const groups = policy.compromise.declaredBy;
  if (!compromised || groups === undefined) return [];
  if (groups.some((g) => policy.groups[g]?.some((member) => sameActor(member, requestedBy)))) return [];
  return [
    {
      path: 'emergency.compromised',
      rule: 'compromise.declaredBy',
      message:
        groups.length === 0
          ? `${requestedBy} may not declare a compromise: the policy lets no one declare one`
          : `${requestedBy} may not declare a compromise: only members of ${groups.map((g) => `'${g}'`).join(', ')} may`,
      fix: `add ${requestedBy} to one of compromise.declaredBy's groups (or have a member request it; an emergency without --compromised needs no such group)`,
    },
  ];
}

/** Whether a compromised rotation still waits at its playbook's approval gate (`compromise.approval`). */
export const compromiseNeedsApproval = (policy: Policy): boolean => policy.compromise.approval === 'required';
