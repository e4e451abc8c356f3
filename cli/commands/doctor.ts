import { Command } from 'commander';
import { lazyAction } from '../run';

/**
 * `rotor doctor [playbooks…] [--json] [--encryption-config <file>]`: read-only checks of how the
 * playbooks' Secrets are exposed. Exit 4 when any finding is high severity, 0 otherwise.
 */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'read-only: env-var/subPath consumers, automounted default tokens, ExternalSecrets that ignore refreshes, broad RBAC on Secrets, escalate/bind, overdue rotations, and (with --encryption-config) encryption at rest; exit 4 on a high finding',
    )
    .argument(
      '[playbooks...]',
      'playbook files or directories (default: playbooks/ unless only --encryption-config is given)',
    )
    .option('--json', 'machine-readable output')
    .option('--encryption-config <file>', "a kube-apiserver's EncryptionConfiguration file to check")
    .action(lazyAction(async () => (await import('../actions/doctor')).doctor));
}
