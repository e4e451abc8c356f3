import { Command } from 'commander';
import { lazyAction } from '../run';

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
    .action(lazyAction(async () => (await import('../actions/plan')).plan));
}
