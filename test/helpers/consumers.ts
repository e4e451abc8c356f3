import type { CoreV1Api, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { readsDigest } from '../../adapters/kubernetes/consumer-gate';
import { parseReadsLine } from '../../core/gate';
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
    ...keys.map((k) => `${digestInto('d', dir, k)}\n  l="$l ${k}=$d"`),
    'echo "$l"',
  ].join('\n');
}

/** Shell setting `$variable` to the digest of `<dir>/<key>` in rotor's convention, `-` when the file is missing. */
function digestInto(variable: string, dir: string, key: string): string {
  return `if [ -f ${dir}/${key} ]; then ${variable}=$({ printf "%s:" "$POD_UID"; cat ${dir}/${key}; } | sha256sum | cut -c1-32); else ${variable}=-; fi`;
}

/**
 * A consumer container's whole script: read and report every second until TERM. Keys in
 * `cachedAtStart` are read once when the container starts and reported as read then, as an
 * application that loads a credential at startup would (a consumer the gate must hold back).
 */
export function readsReporterScript(
  dir: string,
  keys: readonly string[],
  cachedAtStart: readonly string[] = [],
): string {
  const cached = keys.map((k, i) => (cachedAtStart.includes(k) ? digestInto(`c${i}`, dir, k) : '')).filter(Boolean);
  const each = keys.map((k, i) =>
    cachedAtStart.includes(k) ? `  l="$l ${k}=$c${i}"` : `  ${digestInto('d', dir, k)}\n  l="$l ${k}=$d"`,
  );
  return [
    'trap "exit 0" TERM',
    ...cached,
    'while :; do',
    `  l="${readsLinePrefix}"`,
    ...each,
    '  echo "$l"',
    '  sleep 1',
    'done',
  ].join('\n');
}

/**
 * A Deployment of one pod mounting Secret `secretName` at /cred and printing what it read each
 * second (keys in `cachedAtStart` as read at startup); with `reports`, it opts in to rotor reading
 * those lines (the pod-template annotation).
 */
export function volumeConsumer(
  name: string,
  secretName: string,
  reports: boolean,
  cachedAtStart: readonly string[] = [],
): V1Deployment {
  const labels = { app: name };
  const template = sleeperTemplate(labels);
  const [container] = template.spec?.containers ?? [];
  if (!container || !template.spec) throw new Error('sleeperTemplate has no container');
  container.command = ['/bin/sh', '-c', readsReporterScript('/cred', ['value', 'value-other'], cachedAtStart)];
  container.env = [{ name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }];
  container.volumeMounts = [{ name: 'cred', mountPath: '/cred', readOnly: true }];
  template.spec.volumes = [{ name: 'cred', secret: { secretName } }];
  if (reports) template.metadata = { ...template.metadata, annotations: { [reportsReadsAnnotation]: 'app' } };
  return { metadata: { name }, spec: { replicas: 1, selector: { matchLabels: labels }, template } };
}

/**
 * A Deployment mounting only ConfigMap `configMap` (a CA rollover's trust bundle) at /ca, reporting
 * each second the fingerprints (`sha256:<16 hex>` of each certificate's DER) of the CAs in
 * `/ca/<key>`; or, with `frozen`, always those fingerprints: a client that loaded its trust store at
 * startup and never reads the bundle again.
 */
export function bundleReader(name: string, configMap: string, key: string, frozen?: readonly string[]): V1Deployment {
  const labels = { app: name };
  const template = sleeperTemplate(labels);
  const [container] = template.spec?.containers ?? [];
  if (!container || !template.spec) throw new Error('sleeperTemplate has no container');
  const pemBodies = `awk '/-----BEGIN CERTIFICATE-----/{b="";f=1;next} /-----END CERTIFICATE-----/{f=0;print b;next} f{b=b $0}' /ca/${key}`;
  const fingerprints = frozen
    ? frozen.join(',')
    : `$(${pemBodies} | while read -r b; do printf '%s' "$b" | base64 -d | sha256sum | cut -c1-16 | sed 's/^/sha256:/'; done | tr '\n' ',')`;
  container.command = [
    '/bin/sh',
    '-c',
    `trap "exit 0" TERM\nwhile :; do\n  echo "${readsLinePrefix} ${key}=${fingerprints}"\n  sleep 1\ndone`,
  ];
  container.volumeMounts = [{ name: 'ca', mountPath: '/ca', readOnly: true }];
  template.spec.volumes = [{ name: 'ca', configMap: { name: configMap } }];
  template.metadata = { ...template.metadata, annotations: { [reportsReadsAnnotation]: 'app' } };
  return { metadata: { name }, spec: { replicas: 1, selector: { matchLabels: labels }, template } };
}

/** The Running (not terminating) pod of Deployment `app`. */
export async function runningPodOf(core: CoreV1Api, namespace: string, app: string): Promise<V1Pod> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  if (!pod) throw new Error(`no running pod of ${app} in ${namespace}`);
  return pod;
}

/** Waits until every Deployment in `apps` has a running pod (90 s at most). */
export async function waitRunning(core: CoreV1Api, namespace: string, apps: readonly string[]): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ok = await Promise.all(
      apps.map((a) =>
        runningPodOf(core, namespace, a).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (ok.every(Boolean)) return;
    if (Date.now() > deadline)
      throw new Error(`consumer pods ${apps.join(', ')} in ${namespace} not running within 90s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The pod's `rotor.dev/reads` lines with their kubelet timestamps (epoch ms). */
export async function readsLog(
  core: CoreV1Api,
  namespace: string,
  pod: V1Pod,
): Promise<{ at: number; reads: Map<string, string> }[]> {
  const log = await core.readNamespacedPodLog({
    name: pod.metadata?.name ?? '',
    namespace,
    container: 'app',
    timestamps: true,
  });
  return log.split('\n').flatMap((line) => {
    const space = line.indexOf(' ');
    const reads = parseReadsLine(line.slice(space + 1), readsLinePrefix);
    return reads ? [{ at: Date.parse(line.slice(0, space)), reads }] : [];
  });
}

/** `value=<digest> value-other=<digest or ->` as the pod prints it for these values. */
export function expectedReads(pod: V1Pod, value: string, other: string | null): string {
  const uid = pod.metadata?.uid ?? '';
  return `value=${readsDigest(uid, value)} value-other=${other === null ? '-' : readsDigest(uid, other)}`;
}

/** A parsed reads line back in the pod's own words, for comparing with `expectedReads`. */
export const shownReads = (reads: ReadonlyMap<string, string>): string =>
  [...reads].map(([k, v]) => `${k}=${v}`).join(' ');
