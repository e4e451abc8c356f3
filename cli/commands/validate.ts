import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor validate <files…>` */
export function validateCommand(): Command {
  return new Command('validate')
    .description(
      'check playbooks against the schema (and with --policy, the admin policy); prints every problem as file: path: message',
    )
    .argument('<files...>', 'playbook YAML files')
    .option('--policy <file>', 'admin policy file: also report what the worker would refuse at plan')
    .option('--as <requester>', 'requester the policy sees (default $USER@hostname)')
    .action(lazyAction(async () => (await import('../actions/validate')).validateFiles));
}
