import { loadKubeconfig } from '../../adapters/kubernetes/clients';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { ExitCode } from '../exit-codes';
import { defaultActor } from '../identity';
import { err, out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { cliPolicy, policyRefusals } from '../policy-check';

/** `rotor plan`: what a rotation of the playbook would touch, read-only; exit 1 when the policy would refuse it. */
export async function plan(file: string, opts: { json?: boolean; policy?: string; as?: string }): Promise<ExitCode> {
  const playbook = await loadPlaybookOrFail(file);
  const policy = cliPolicy(opts.policy);
  const refusals = policy ? policyRefusals(policy, playbook, file, opts.as ?? defaultActor()) : [];
  const radius = await blastRadius(playbook, loadKubeconfig());
  out(opts.json ? JSON.stringify({ ...radius, policyRefusals: refusals }, null, 2) : renderBlastRadius(radius));
  for (const line of refusals) err(`refused by policy: ${line}`);
  return refusals.length > 0 ? ExitCode.usage : ExitCode.ok;
}
