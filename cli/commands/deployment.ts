import { Command } from 'commander';
import { lazyAction } from '../run';

/**
 * `rotor deployment status|set-current|wait-drained`: the worker builds Temporal knows (Worker
 * Versioning), and the two steps of an upgrade that need the server's word: which build takes new
 * rotations, and when an old build has no pinned rotation left so its workers may go.
 */
export function deploymentCommand(): Command {
  const deployment = new Command('deployment').description(
    'worker builds (Worker Versioning): which is current, which still run pinned rotations',
  );
  const named = (c: Command) =>
    c.option('--deployment <name>', "the workers' ROTOR_DEPLOYMENT_NAME (default: $ROTOR_DEPLOYMENT_NAME, else rotor)");
  named(deployment.command('status'))
    .description('each build of the deployment: current, ramping, draining (pinned rotations open) or drained')
    .option('--json', 'machine-readable output')
    .action(lazyAction(async () => (await import('../actions/deployment')).deploymentStatus));
  named(deployment.command('set-current'))
    .description('new rotations start on <build-id> from now on; open ones stay on the build that started them')
    .argument('<build-id>', 'a build whose workers poll (rotor deployment status lists them)')
    .action(lazyAction(async () => (await import('../actions/deployment')).deploymentSetCurrent));
  named(deployment.command('wait-drained'))
    .description('exits 0 once Temporal reports <build-id> drained: no pinned rotation open, its workers may go')
    .argument('<build-id>', 'an earlier build, no longer current')
    .option('--timeout <duration>', 'give up (exit 1) after this long, e.g. 2h (default 30m)')
    .option('--json', 'one JSON line per check')
    .action(lazyAction(async () => (await import('../actions/deployment')).deploymentWaitDrained));
  return deployment;
}
