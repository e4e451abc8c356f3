import { Command } from 'commander';
import { loadKubeconfig } from '../../adapters/kubernetes/clients';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { ExitCode } from '../exit-codes';
import { out } from '../output';
import { loadPlaybookOrFail } from '../playbook-files';
import { runAction } from './run';

/** `rotor plan <playbook> [--json]`: what a rotation would touch, read-only. */
export function planCommand(): Command {
  return new Command('plan')
    .description(
      'show, without changing anything, every cluster, namespace, ExternalSecret, Secret and workload a rotation would touch; flags unlisted consumers',
    )
    .argument('<playbook>', 'playbook YAML file')
    .option('--json', 'machine-readable output')
    .action(
      runAction(async (file: string, opts: { json?: boolean }) => {
        const playbook = await loadPlaybookOrFail(file);
        const plan = await blastRadius(playbook, loadKubeconfig());
        out(opts.json ? JSON.stringify(plan, null, 2) : renderBlastRadius(plan));
        return ExitCode.ok;
      }),
    );
}
