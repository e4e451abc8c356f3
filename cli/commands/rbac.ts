import { Command } from 'commander';
import { lazyAction } from '../run';

/**
 * `rotor rbac <playbook>`: per cluster, the Role and RoleBinding rotor needs and (consumer gate on)
 * the ValidatingAdmissionPolicy and binding limiting its pod patches, as YAML to apply there.
 */
export function rbacCommand(): Command {
  return new Command('rbac')
    .description(
      'print, per cluster, the least-privilege Role and RoleBinding the rotor worker needs (no list on Secrets), and the admission policy that narrows its pod patches to the resync annotation',
    )
    .argument('<playbooks...>', 'playbook YAML files')
    .option('--service-account <name>', 'ServiceAccount the worker uses in each cluster', 'rotor')
    .option('--namespace <ns>', "that ServiceAccount's namespace", 'rotor-system')
    .option(
      '--helm-values',
      "print the `rbac` values of the worker chart (deploy/helm/rotor) for the cluster named by --cluster; --namespace is the release's namespace",
    )
    .option('--cluster <name>', 'with --helm-values: the cluster (playbook cluster name or context) the chart goes to')
    .action(lazyAction(async () => (await import('../actions/rbac')).rbac));
}
