import { Command } from 'commander';
import { CliError } from '../exit-codes';
import { lazyAction } from '../run';

type SteerName = 'pause' | 'resume' | 'abort';
const steerDescriptions: Record<SteerName, string> = {
  pause: 'no new rotation of the incident starts; running ones go on',
  resume: 'start the rest of the incident again',
  abort: 'start nothing more and cancel the running rotations: each rolls back before its point of no return',
};

/**
 * `rotor incident start|request|status|pause|resume|abort`: one incident, many emergency rotations
 * (docs/operating.md, "Incident response"). Bodies in cli/actions/incident-*.ts, loaded only when run.
 */
export function incidentCommand(): Command {
  const incident = new Command('incident').description(
    'one incident, many emergency rotations: start them for a selection of playbooks, follow, pause, resume or abort',
  );
  incident
    .command('start')
    .description('emergency-rotate every playbook in <dir> that matches the selection, as one incident')
    .argument('<dir>', 'directory of playbook YAML files')
    .option('--selector <k=v,...>', 'only playbooks with all these metadata.labels')
    .option(
      '--store <prefix>',
      'only playbooks whose store location starts with this (vault:<mount>/<path>, aws:<secretId>, or without the type)',
    )
    .option('--cluster <name>', 'only playbooks delivering to this cluster')
    .option(
      '--readable-by <identity>',
      'only playbooks whose Secret this identity could read (user:…, group:…, serviceaccount:<ns>/<name>)',
    )
    .option('--dry-run', 'print the selection and start nothing')
    .option('--reason <text>', 'why (required; recorded in every rotation)')
    .option('--compromised', 'the credentials leaked: revoke without waiting for approval')
    .option('--concurrency <n>', 'rotations running at once (default 4)')
    .option(
      '--per-backend <n>',
      'rotations running at once against one Vault, region, database or apiserver (default 2)',
    )
    .option('--id <id>', 'incident id (default: the UTC time and a random suffix); the workflow id is incident/<id>')
    .option('--requested-by <who>', 'who asked for it (default $USER@hostname)')
    .option('--wait', 'follow the incident until it ends; exit 0 rotated, 2 rolled back/aborted, 3 needs attention')
    .option('--json', 'machine-readable JSON lines')
    .action(lazyAction(async () => (await import('../actions/incident-start')).startIncident));
  incident
    .command('request')
    .description(
      "ask rotor's controller, through the Kubernetes API as your kubeconfig's user, for emergency rotations of these RotationPlaybooks as one incident (a RotationIncident; identity: kubernetes)",
    )
    .argument('<playbook...>', 'RotationPlaybook names in the namespace')
    .option('-n, --namespace <namespace>', "the playbooks' namespace (default: the context's namespace)")
    .option('--context <context>', 'kubeconfig context of the management cluster (default: the current one)')
    .option('--reason <text>', 'why (required; recorded in every rotation)')
    .option('--compromised', 'the credentials leaked: revoke without waiting for approval')
    .option('--concurrency <n>', 'rotations running at once (default 4)')
    .option('--per-backend <n>', 'rotations running at once against one backend (default 2)')
    .option('--timeout <seconds>', "how long to wait for the controller's answer (0: do not wait)", '60')
    .option('--json', 'print the outcome as one JSON line')
    .action(lazyAction(async () => (await import('../actions/kube-requests')).requestIncident));
  incident
    .command('status')
    .description("an incident's counts per state, slowest and failed rotations, or its report once ended")
    .argument('<id>', 'incident id (or incident/<id>)')
    .option('--json', 'print the status as one JSON line')
    .action(lazyAction(async () => (await import('../actions/incident-steer')).incidentStatus));
  for (const name of Object.keys(steerDescriptions) as SteerName[])
    incident
      .command(name)
      .description(steerDescriptions[name])
      .argument('<id>', 'incident id (or incident/<id>); with --via-kube, the RotationIncident')
      .option('--reason <text>', 'why, recorded with the action')
      .option('--by <who>', 'who is acting (default $USER@hostname); not with --via-kube')
      .option('--json', 'print the answer as one JSON line')
      .option(
        '--via-kube',
        "through the Kubernetes API as your kubeconfig's user: a RotationApproval of the RotationIncident (identity: kubernetes)",
      )
      .option('-n, --namespace <namespace>', "with --via-kube: the RotationIncident's namespace")
      .option('--context <context>', 'with --via-kube: kubeconfig context of the management cluster')
      .option('--timeout <seconds>', "with --via-kube: how long to wait for the controller's answer", '60')
      .action(
        lazyAction(async () => {
          const { steerIncident } = await import('../actions/incident-steer');
          return async (id: string, opts: Record<string, unknown>) => {
            const { viaKube, by, namespace, context, timeout, ...rest } = opts;
            if (!viaKube) {
              if (namespace !== undefined || context !== undefined)
                throw new CliError('rotor: -n and --context go with --via-kube only');
              return steerIncident(name, id, { ...rest, ...(by !== undefined ? { by } : {}) });
            }
            if (by !== undefined)
              throw new CliError('rotor: --by does not go with --via-kube: the apiserver says who you are');
            const { decideViaKube } = await import('../actions/kube-requests');
            return decideViaKube(name, id, { ...rest, namespace, context, timeout }, 'incident');
          };
        }),
      );
  return incident;
}
