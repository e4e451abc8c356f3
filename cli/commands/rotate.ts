import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor rotate <playbook> [--wait] [--json] [--reason …] [--emergency] [--compromised] [--requested-by …]` */
export function rotateCommand(): Command {
  return new Command('rotate')
    .description('validate a playbook and start the rotation of its secret')
    .argument('<playbook>', 'playbook YAML file')
    .option(
      '--wait',
      'follow progress until the rotation ends; exit 0 rotated, 2 rolled back/aborted, 3 needs attention',
    )
    .option('--json', 'machine-readable JSON lines')
    .option('--reason <text>', 'why (recorded in the workflow; required with --emergency)')
    .option('--emergency', 'emergency rotation: tighter timeouts, no soak')
    .option('--compromised', 'with --emergency: the credential leaked, revoke without waiting for approval')
    .option('--requested-by <who>', 'who asked for it (default $USER@hostname)')
    .option(
      '--supersede-wait <duration>',
      'with --emergency: how long to wait for a running rotation to finish or roll back (default 10m); then exit 3',
    )
    .action(lazyAction(async () => (await import('../actions/rotate')).rotate));
}
