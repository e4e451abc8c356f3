import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor request <playbook> [--namespace …] [--context …] [--reason …] [--emergency [--compromised]]` */
export function requestCommand(): Command {
  return new Command('request')
    .description(
      "ask rotor's controller, through the Kubernetes API as your kubeconfig's user, to rotate a RotationPlaybook's secret",
    )
    .argument('<playbook>', 'RotationPlaybook name in the namespace')
    .option('-n, --namespace <namespace>', "the playbook's namespace (default: the context's namespace)")
    .option('--context <context>', 'kubeconfig context of the management cluster (default: the current one)')
    .option('--reason <text>', 'why (recorded with the rotation)')
    .option('--emergency', 'emergency rotation (needs the emergency verb): tighter timeouts, no soak')
    .option('--compromised', 'with --emergency: the credential leaked')
    .option('--timeout <seconds>', "how long to wait for the controller's answer (0: do not wait)", '60')
    .option('--json', 'print the outcome as one JSON line')
    .action(lazyAction(async () => (await import('../actions/kube-requests')).requestRotation));
}
