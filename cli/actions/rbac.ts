import { stringify } from 'yaml';
import { z } from 'zod';
import { parseArgs } from '../args';
import { ExitCode } from '../exit-codes';
import { out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { rbacFor } from '../../inspect/rbac';

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

/** `rotor rbac`: per cluster, the YAML to apply there (see the command's description). */
export async function rbac(file: string, raw: Record<string, unknown>): Promise<ExitCode> {
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
}
