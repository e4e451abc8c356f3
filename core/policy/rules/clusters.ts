import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

/**
 * Every `spec.clusters[]` entry must name a kubeconfig context (its `context`, else its `name`) of
 * the tenant's `allow.clusters`, and a namespace listed for that context. One refusal per cluster.
 */
export function clustersRule(ctx: RuleContext): PolicyRefusal[] {
  return ctx.playbook.spec.clusters.flatMap((c, i) => {
    const context = c.context ?? c.name;
    const path = `spec.clusters[${i}]`;
    const allowed = ctx.tenant.allow.clusters.filter((a) => a.context === context);
    if (allowed.length === 0)
      return [
        tenantRefusal(
          ctx,
          `${path}.${c.context ? 'context' : 'name'}`,
          'allow.clusters',
          `cluster context '${context}' is not one the tenant may use`,
          `add { context: ${context}, namespaces: [${c.namespace}] } to allow.clusters`,
        ),
      ];
    if (allowed.some((a) => a.namespaces.includes(c.namespace))) return [];
    return [
      tenantRefusal(
        ctx,
        `${path}.namespace`,
        'allow.clusters',
        `namespace '${c.namespace}' in context '${context}' is not one the tenant may use`,
        `add ${c.namespace} to the namespaces of context ${context} in allow.clusters`,
      ),
    ];
  });
}
