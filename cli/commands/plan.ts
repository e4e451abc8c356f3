import { Command } from 'commander';
import { loadKubeconfig } from '../../adapters/kubernetes/clients';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { ExitCode } from '../exit-codes';
import { defaultActor } from '../identity';
import { err, out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { cliPolicy, policyRefusals } from '../policy-check';
import { runAction } from './run';

/** `rotor plan <playbook> [--json]`: what a rotation would touch, read-only. */
export function planCommand(): Command {
  return new Command('plan')
    .description(
      'show, without changing anything, every cluster, namespace, ExternalSecret, Secret and workload a rotation would touch; flags unlisted consumers',
    )
    .argument('<playbook>', 'playbook YAML file')
    .option('--json', 'machine-readable output')
    .option('--policy <file>', 'admin policy file (default ROTOR_POLICY_FILE): report what the worker would refuse')
    .option('--as <requester>', 'requester the policy sees (default $USER@hostname)')
    .action(
      runAction(async (file: string, opts: { json?: boolean; policy?: string; as?: string }) => {
        const playbook = await loadPlaybookOrFail(file);
        const policy = cliPolicy(opts.policy);
        const refusals = policy ? policyRefusals(policy, playbook, file, opts.as ?? defaultActor()) : [];
        const plan = await blastRadius(playbook, loadKubeconfig());
        out(opts.json ? JSON.stringify({ ...plan, policyRefusals: refusals }, null, 2) : renderBlastRadius(plan));
        for (const line of refusals) err(`refused by policy: ${line}`);
        return refusals.length > 0 ? ExitCode.usage : ExitCode.ok;
      }),
    );
}
