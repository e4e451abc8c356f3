import { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { parseArgs } from '../args';
import { CliError, ExitCode } from '../exit-codes';
import { out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { rbacFor } from '../../inspect/rbac';
import { runAction } from './run';
import { chartRbacValues } from '../rbac-values';

const rbacOptions = z.object({
  serviceAccount: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, '--service-account must be a DNS label')
    .default('rotor'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, '--namespace must be a DNS label')
    .default('rotor-system'),
  helmValues: z.boolean().default(false),
  cluster: z.string().min(1, '--cluster must name a cluster or context').optional(),
});

/**
 * `rotor rbac <playbook>`: per cluster, the Role and RoleBinding rotor needs and (consumer gate on)
 * the ValidatingAdmissionPolicy and binding limiting its pod patches, as YAML to apply there.
 */
export function rbacCommand(): Command {
  return new Command('rbac')
    .description(
      'print, per cluster, the least-privilege Role and RoleBinding the rotor worker needs (no list on Secrets), and the admission policy that narrows its pod patches to the resync annotation',
    )
    .argument('<playbooks...>', 'playbook YAML files')
    .option('--service-account <name>', 'ServiceAccount the worker uses in each cluster', 'rotor')
    .option('--namespace <ns>', "that ServiceAccount's namespace", 'rotor-system')
    .option(
      '--helm-values',
      "print the `rbac` values of the worker chart (deploy/helm/rotor) for the cluster named by --cluster; --namespace is the release's namespace",
    )
    .option('--cluster <name>', 'with --helm-values: the cluster (playbook cluster name or context) the chart goes to')
    .action(
      runAction(async (files: string[], raw: Record<string, unknown>) => {
        const o = parseArgs(rbacOptions, raw);
        const subject = { serviceAccount: o.serviceAccount, namespace: o.namespace };
        const all = [];
        for (const file of files) all.push(...rbacFor(await loadPlaybookOrFail(file), subject));
        if (o.helmValues) {
          if (!o.cluster)
            throw new CliError('--helm-values needs --cluster <name>: the chart is installed into one cluster');
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
      }),
    );
}
