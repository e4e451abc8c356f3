import type { V1Deployment } from '@kubernetes/client-node';
import { readsLinePrefix, reportsReadsAnnotation } from '../../core/ids';
import { sleeperTemplate } from './kube';

/**
 * Shell that prints what a consumer read from the Secret mounted at `dir`, in rotor's convention:
 * `rotor.dev/reads <key>=<sha256("<pod uid>:<value>")[:32]>`, `-` when the key's file does not
 * exist. Needs POD_UID from the downward API.
 */
export function readsReportOnce(dir: string, keys: readonly string[]): string {
  return [
    `l="${readsLinePrefix}"`,
    `for k in ${keys.join(' ')}; do`,
    `  if [ -f ${dir}/$k ]; then d=$({ printf "%s:" "$POD_UID"; cat ${dir}/$k; } | sha256sum | cut -c1-32); else d=-; fi`,
    '  l="$l $k=$d"',
    'done',
    'echo "$l"',
  ].join('\n');
}

/** A consumer container's whole script: read and report every second until TERM. */
export function readsReporterScript(dir: string, keys: readonly string[]): string {
  return ['trap "exit 0" TERM', 'while :; do', readsReportOnce(dir, keys), '  sleep 1', 'done'].join('\n');
}

/**
 * A Deployment of one pod mounting Secret `secretName` at /cred and printing what it read each
 * second; with `reports`, it opts in to rotor reading those lines (the pod-template annotation).
 */
export function volumeConsumer(name: string, secretName: string, reports: boolean): V1Deployment {
  const labels = { app: name };
  const template = sleeperTemplate(labels);
  const [container] = template.spec?.containers ?? [];
  if (!container || !template.spec) throw new Error('sleeperTemplate has no container');
  container.command = ['/bin/sh', '-c', readsReporterScript('/cred', ['value', 'value-other'])];
  container.env = [{ name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }];
  container.volumeMounts = [{ name: 'cred', mountPath: '/cred', readOnly: true }];
  template.spec.volumes = [{ name: 'cred', secret: { secretName } }];
  if (reports) template.metadata = { ...template.metadata, annotations: { [reportsReadsAnnotation]: 'app' } };
  return { metadata: { name }, spec: { replicas: 1, selector: { matchLabels: labels }, template } };
}
