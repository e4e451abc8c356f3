/** The `kubernetes-job` canary: a Job in a chosen cluster mounting the new version, watched until it ends. */
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Job, V1Secret } from '@kubernetes/client-node';
import { canaryLabelKey, managedByLabel } from '../../core/ids';
import type { Canary } from '../../core/playbook/schema';
import { contextNames } from '../kubernetes/clients';
import type { Clients, KubeClients } from '../kubernetes/clients';
import { errorText } from '../kubernetes/errors';
import { waitForObject } from '../kubernetes/watch';
import { redactTail } from '../redact';

/** Bytes of a canary pod's log read for a failure report. */
const logLimit = 4096;
import type { CanaryOutcome } from './outcome';

/** A canary that runs a Kubernetes Job with the credential mounted from a Secret. */
export type KubernetesJobCanary = Extract<Canary, { type: 'kubernetes-job' }>;

/** Name of the file the credential is mounted as, inside `mountPath`. */
export const canaryCredentialFile = 'credential';

/** A Job name for one run of a canary: at most 52 characters so pod names (+6) and the job-name label (63) fit. */
export function canaryJobName(canaryName: string, suffix = randomBytes(3).toString('hex')): string {
  return `${`rotor-canary-${canaryName}`.slice(0, 45).replace(/-+$/, '')}-${suffix}`;
}

/**
 * The Job a `kubernetes-job` canary runs: one pod, no retries, killed by the cluster at the canary's
 * timeout, with the Secret `name` (holding only the credential) mounted read-only. The credential
 * is never in the Job itself, so the Job can be read and logged freely.
 */
export function buildCanaryJob(c: KubernetesJobCanary, name: string): V1Job {
  const labels = { ...managedByLabel, [canaryLabelKey]: c.name };
  const file = `${c.mountPath.replace(/\/+$/, '')}/${canaryCredentialFile}`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: c.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(1, Math.ceil(c.timeout / 1000)),
      // Cleans up if rotor dies before deleting it.
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // The restricted Pod Security profile: the canary gets no more than the credential.
          securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          ...(c.serviceAccountName
            ? { serviceAccountName: c.serviceAccountName }
            : { automountServiceAccountToken: false }),
          containers: [
            {
              name: 'canary',
              image: c.image,
              command: c.command,
              env: [{ name: 'ROTOR_CREDENTIAL_FILE', value: file }],
              volumeMounts: [{ name: 'credential', mountPath: c.mountPath, readOnly: true }],
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
          volumes: [{ name: 'credential', secret: { secretName: name, defaultMode: 0o444 } }],
        },
      },
    },
  };
}

/** The Secret holding the credential for one canary Job, owned by that Job so it goes when the Job goes. */
export function buildCanarySecret(c: KubernetesJobCanary, job: V1Job, credential: string): V1Secret {
  const name = job.metadata?.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: c.namespace,
      labels: { ...managedByLabel, [canaryLabelKey]: c.name },
      ownerReferences: job.metadata?.uid ? [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata.uid }] : [],
    },
    type: 'Opaque',
    immutable: true,
    data: { [canaryCredentialFile]: Buffer.from(credential).toString('base64') },
  };
}

/** Why a Job's pods did not finish, from their phases and waiting reasons (or that none exist). */
async function podSummary(core: CoreV1Api, c: KubernetesJobCanary, job: string, credential: string): Promise<string> {
  const pods = await core
    .listNamespacedPod({ namespace: c.namespace, labelSelector: `job-name=${job}` })
    .catch(() => undefined);
  if (!pods || pods.items.length === 0) return 'no pod was created (is the job controller running?)';
  const parts: string[] = [];
  for (const pod of pods.items) {
    const waiting = pod.status?.containerStatuses
      ?.map((s) => s.state?.waiting?.reason ?? s.state?.terminated?.reason)
      .filter(Boolean)
      .join(',');
    const scheduled = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
    let part = `pod ${pod.metadata?.name} ${pod.status?.phase ?? 'Unknown'}${waiting ? ` (${waiting})` : ''}`;
    if (scheduled?.status === 'False') part += ` unschedulable: ${scheduled.message ?? scheduled.reason ?? ''}`;
    else if (!pod.spec?.nodeName) part += ' not scheduled (is there a scheduler and a node?)';
    const log = await core
      .readNamespacedPodLog({
        name: pod.metadata?.name ?? '',
        namespace: c.namespace,
        tailLines: 20,
        limitBytes: logLimit,
      })
      .catch(() => '');
    // limitBytes keeps the head: a log that filled it was cut at its end.
    const cut = Buffer.byteLength(log) >= logLimit ? 'end' : undefined;
    if (log.trim()) part += `: ${redactTail(log.trim(), [credential], 500, cut)}`;
    parts.push(part);
  }
  return parts.join('; ');
}

/**
 * Creates the canary Job and a Secret with the credential, waits for the Job to succeed or fail
 * within the timeout, and deletes both. A cluster that never runs the pod ends in a timeout that
 * says so.
 */
export async function runKubernetesJob(
  c: KubernetesJobCanary,
  credential: string,
  signal: AbortSignal,
  kube: KubeClients,
): Promise<CanaryOutcome> {
  let clients: Clients;
  try {
    clients = kube.forContext(c.cluster);
  } catch {
    return { ok: false, detail: `kubeconfig has no context '${c.cluster}' (it has: ${contextNames(kube.kubeconfig)})` };
  }
  const { batch, core, kc } = clients;
  const { namespace } = c;
  const name = canaryJobName(c.name);
  const where = `Job ${namespace}/${name} in ${c.cluster}`;
  const stop = AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]);
  let created = false;
  try {
    const job = await batch.createNamespacedJob({ namespace, body: buildCanaryJob(c, name) });
    created = true;
    await core.createNamespacedSecret({ namespace, body: buildCanarySecret(c, job, credential) });
    const end = await waitForObject<V1Job, NonNullable<ReturnType<typeof jobEnd>>>(
      {
        kubeconfig: kc,
        path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
        name,
        list: async () => {
          const found = await batch.readNamespacedJob({ name, namespace });
          return { items: [found], metadata: { resourceVersion: found.metadata?.resourceVersion } };
        },
      },
      (found) => jobEnd(found),
      { signal: stop },
    ).catch((e: unknown) => {
      if (stop.aborted) return undefined;
      throw e;
    });
    if (end?.ok) return { ok: true, detail: `${where} succeeded` };
    if (end && !end.timedOut) {
      const summary = await podSummary(core, c, name, credential);
      return { ok: false, detail: `${where} failed${end.reason ? ` (${end.reason})` : ''}: ${summary}` };
    }
    if (signal.aborted) return { ok: false, detail: `${where} cancelled` };
    return {
      ok: false,
      detail: `${where} did not finish within ${c.timeout}ms: ${await podSummary(core, c, name, credential)}`,
    };
  } catch (e) {
    return { ok: false, detail: `${where}: ${redactTail(errorText(e), [credential], 300)}` };
  } finally {
    if (created) {
      await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }).catch(() => undefined);
    }
    await core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
  }
}

/**
 * Whether a Job finished: succeeded, failed (with the condition's reason), or still running
 * (undefined). A Job the cluster stopped at its deadline (the canary's timeout) is `timedOut`.
 */
export function jobEnd(job: V1Job | undefined): { ok: boolean; reason?: string; timedOut?: boolean } | undefined {
  const status = job?.status;
  const conditions = status?.conditions ?? [];
  const done = conditions.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  if (done?.type === 'Complete' || (status?.succeeded ?? 0) > 0) return { ok: true };
  if (conditions.some((x) => x.status === 'True' && x.reason === 'DeadlineExceeded'))
    return { ok: false, timedOut: true };
  if (done?.type === 'Failed' || (status?.failed ?? 0) > 0)
    return { ok: false, ...(done?.reason ? { reason: done.reason } : {}) };
  return undefined;
}
