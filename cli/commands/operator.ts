import { Command } from 'commander';
import { lazyAction } from '../run';
import { operatorDescriptions } from '../operator-names';
import type { OperatorName } from '../operator-names';
import { CliError } from '../exit-codes';

/** Operator commands that also exist as a RotationApproval's action. */
const viaKube = new Set<OperatorName>(['approve', 'abort', 'skip-soak', 'retry', 'pause', 'resume']);

/**
 * `rotor approve|abort|skip-soak|pause|resume|retry <secret> [--reason …] [--by …]`; each also
 * `--via-kube <request>`: a RotationApproval as the kubeconfig's user.
 */
export function operatorCommands(): Command[] {
  return (Object.keys(operatorDescriptions) as OperatorName[]).map((name) => {
    const command = new Command(name)
      .description(operatorDescriptions[name])
      .argument(
        '<secret>',
        'secret name (or a workflow id such as rotate/<secret>); with --via-kube, the RotationRequest',
      )
      .option('--reason <text>', 'why, recorded with the action')
      .option('--by <who>', 'who is acting (default $USER@hostname); not with --via-kube')
      .option('--json', 'print the answer as one JSON line');
    if (viaKube.has(name))
      command
        .option('--via-kube', "through the Kubernetes API as your kubeconfig's user: a RotationApproval of the request")
        .option('-n, --namespace <namespace>', "with --via-kube: the request's namespace")
        .option('--context <context>', 'with --via-kube: kubeconfig context of the management cluster')
        .option('--timeout <seconds>', "with --via-kube: how long to wait for the controller's answer", '60');
    return command.action(
      lazyAction(async () => {
        const { operate } = await import('../actions/operator');
        return async (target: string, opts: Record<string, unknown>) => {
          if (!opts['viaKube']) return operate(name, target, opts);
          const { viaKube: _, by, ...rest } = opts;
          if (by !== undefined)
            throw new CliError('rotor: --by does not go with --via-kube: the apiserver says who you are');
          const { decideViaKube } = await import('../actions/kube-requests');
          return decideViaKube(name, target, rest);
        };
      }),
    );
  });
}
