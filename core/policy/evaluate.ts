import type { Playbook } from '../playbook/schema';
import { underPrefix } from './match';
import { sameActor } from './actors';
import type { PolicyRefusal } from './refusal';
import type { Policy, Tenant } from './schema';
import type { PolicyContext, PolicyRule } from './rules/context';
import { canariesRule } from './rules/canaries';
import { clustersRule } from './rules/clusters';
import { credentialRule } from './rules/credential';
import { storeRule } from './rules/store';

export { formatRefusal } from './refusal';
export type { PolicyRefusal } from './refusal';
export { databaseServerAt } from './rules/context';
export type { PolicyContext } from './rules/context';

/** The rules every playbook is checked against, in the order of the fields they check. */
export const policyRules: readonly PolicyRule[] = [storeRule, clustersRule, credentialRule, canariesRule];

/**
 * The first tenant whose every selector matches, or undefined. A request from the Kubernetes API
 * (`ctx.namespace`) is the tenant listing its namespace, whatever else it claims; a tenant with only
 * `namespaces` is never chosen for a request without one.
 */
export function tenantFor(policy: Policy, playbook: Playbook, ctx: PolicyContext): Tenant | undefined {
  const { namespace } = ctx;
  if (namespace !== undefined) return policy.tenants.find(({ match }) => match.namespaces?.includes(namespace));
  return policy.tenants.find(({ match }) => {
    if (!match.directories && !match.labels && !match.requesterGroups) return false;
    if (
      match.directories &&
      !(ctx.playbookFile && match.directories.some((d) => underPrefix(ctx.playbookFile ?? '', d)))
    )
      return false;
    const labels = playbook.metadata.labels ?? {};
    if (match.labels && !Object.entries(match.labels).every(([k, v]) => labels[k] === v)) return false;
    if (
      match.requesterGroups &&
      !match.requesterGroups.some((g) => policy.groups[g]?.some((member) => sameActor(member, ctx.requestedBy)))
    )
      return false;
    return true;
  });
}

/**
 * Every way `playbook` would make rotor touch what the policy does not give its tenant. Empty means
 * allowed. Pure: the worker runs it at plan, `rotor validate --policy` and `rotor plan` before that.
 * The tenant is the first whose `match` fits (none: one refusal at `metadata`); then each of
 * {@link policyRules} runs and their refusals are concatenated in that order.
 */
export function evaluatePolicy(policy: Policy, playbook: Playbook, ctx: PolicyContext): PolicyRefusal[] {
  if (policy.allowAll) return [];
  const tenant = tenantFor(policy, playbook, ctx);
  if (!tenant) {
    return [
      {
        path: 'metadata',
        rule: 'tenants[].match',
        message: `no tenant of the policy matches this playbook (${ctx.namespace !== undefined ? `namespace ${ctx.namespace}, ` : ''}file ${ctx.playbookFile ?? 'not given'}, labels ${JSON.stringify(playbook.metadata.labels ?? {})}, requester ${ctx.requestedBy})`,
        fix: 'add a tenant whose match selects this playbook',
      },
    ];
  }
  const rc = { policy, playbook, tenant, request: ctx };
  return policyRules.flatMap((rule) => rule(rc));
}
