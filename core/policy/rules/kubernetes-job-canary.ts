import type { Canary } from '../../playbook/schema';
import { globMatches } from '../match';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

/**
 * A `kubernetes-job` canary at `path`: only with `allow.canaries.kubernetesJob`, and then its
 * cluster context, namespace, image (exact or `prefix*`) and service account (when named) must each
 * be listed there. Every one not listed is refused.
 */
export function kubernetesJobCanaryRefusals(
  ctx: RuleContext,
  c: Extract<Canary, { type: 'kubernetes-job' }>,
  path: string,
): PolicyRefusal[] {
  const k = ctx.tenant.allow.canaries.kubernetesJob;
  const rule = 'allow.canaries.kubernetesJob';
  if (!k)
    return [
      tenantRefusal(
        ctx,
        `${path}.type`,
        rule,
        'kubernetes-job canaries are not allowed for the tenant',
        'add allow.canaries.kubernetesJob with contexts, namespaces and images',
      ),
    ];
  const jobs = "the tenant's canary Jobs";
  const refuse = (field: string, list: string, message: string, value: string) =>
    tenantRefusal(ctx, `${path}.${field}`, `${rule}.${list}`, message, `add ${value} to ${rule}.${list}`);
  const out: PolicyRefusal[] = [];
  if (!k.contexts.includes(c.cluster))
    out.push(refuse('cluster', 'contexts', `context '${c.cluster}' is not one ${jobs} may run in`, c.cluster));
  if (!k.namespaces.includes(c.namespace))
    out.push(
      refuse('namespace', 'namespaces', `namespace '${c.namespace}' is not one ${jobs} may run in`, c.namespace),
    );
  if (!k.images.some((p) => globMatches(c.image, p)))
    out.push(refuse('image', 'images', `image '${c.image}' is not one ${jobs} may run`, c.image));
  const account = c.serviceAccountName;
  if (account && !k.serviceAccounts.includes(account))
    out.push(
      refuse(
        'serviceAccountName',
        'serviceAccounts',
        `service account '${account}' is not one ${jobs} may use`,
        account,
      ),
    );
  return out;
}
