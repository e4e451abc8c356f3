import { stringify } from 'yaml';
import { z } from 'zod';
import { parseArgs } from '../args';
import { CliError, ExitCode } from '../exit-codes';
import { out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { chartRbacValues } from '../rbac-values';
import { rbacFor } from '../../inspect/rbac';

const dnsLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const rbacOptions = z.object({
  serviceAccount: z.string().regex(dnsLabel, '--service-account must be a DNS label').default('rotor'),
  namespace: z.string().regex(dnsLabel, '--namespace must be a DNS label').default('rotor-system'),
  helmValues: z.boolean().default(false),
  cluster: z.string().min(1, '--cluster must name a cluster or context').optional(),
});

/** `rotor rbac`: per cluster, the YAML to apply there, or the chart's `rbac` values for one cluster. */
export async function rbac(files: string[], raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(rbacOptions, raw);
  const subject = { serviceAccount: o.serviceAccount, namespace: o.namespace };
  const all = [];
  for (const file of files) all.push(...rbacFor(await loadPlaybookOrFail(file), subject));
  if (o.helmValues) {
    if (!o.cluster) throw new CliError('--helm-values needs --cluster <name>: the chart is installed into one cluster');
    let values;
    try {
      values = chartRbacValues(all, o.cluster);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    out(
      `# rotor rbac ${files.join(' ')} --helm-values --cluster ${o.cluster} --service-account ${o.serviceAccount} --namespace ${o.namespace}`,
    );
    out(stringify(values).trimEnd());
    return ExitCode.ok;
  }
  for (const c of all) {
    out(`# cluster ${c.cluster} — apply with: kubectl --context ${c.context} apply -f -`);
    out('---');
    out(stringify(c.role).trimEnd());
    out('---');
    out(stringify(c.binding).trimEnd());
    if (c.podPatchPolicy) {
      out('---');
      out(stringify(c.podPatchPolicy.policy).trimEnd());
      out('---');
      out(stringify(c.podPatchPolicy.binding).trimEnd());
    }
  }
  return ExitCode.ok;
}
