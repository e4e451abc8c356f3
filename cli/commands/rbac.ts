import { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { parseArgs } from '../args';
import { ExitCode } from '../exit-codes';
import { out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { rbacFor } from '../../inspect/rbac';
import { runAction } from './run';

const rbacOptions = z.object({
  serviceAccount: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, '--service-account must be a DNS label')
    .default('rotor'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, '--namespace must be a DNS label')
    .default('rotor-system'),
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
    .argument('<playbook>', 'playbook YAML file')
    .option('--service-account <name>', 'ServiceAccount the worker uses in each cluster', 'rotor')
    .option('--namespace <ns>', "that ServiceAccount's namespace", 'rotor-system')
    .action(
      runAction(async (file: string, raw: Record<string, unknown>) => {
        const o = parseArgs(rbacOptions, raw);
        const playbook = await loadPlaybookOrFail(file);
        for (const c of rbacFor(playbook, { serviceAccount: o.serviceAccount, namespace: o.namespace })) {
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
