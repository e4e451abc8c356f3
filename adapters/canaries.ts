import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ApiException, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Job, V1Secret } from '@kubernetes/client-node';
import { canaryLabelKey, managedByLabel } from '../core/ids';
import type { Canary } from '../core/playbook/schema';
import { tryPostgresLogin } from './credentials/postgres';
import { parseAccessKeyPair, parseUserPassword } from './credentials/values';
import { loadKubeconfig } from './kubernetes/clients';
import { redact } from './redact';

type CommandCanary = Extract<Canary, { type: 'command' }>;
type HttpCanary = Extract<Canary, { type: 'http' }>;
type PostgresLoginCanary = Extract<Canary, { type: 'postgres-login' }>;
type AwsStsCanary = Extract<Canary, { type: 'aws-sts' }>;
/** A canary that runs a Kubernetes Job with the credential mounted from a Secret. */
export type KubernetesJobCanary = Extract<Canary, { type: 'kubernetes-job' }>;

/** Whether a canary passed, and why not in words that never contain the credential. */
export interface CanaryOutcome {
  ok: boolean;
  detail: string;
}

/** What canaries may need besides the credential; defaults come from the environment. */
export interface CanaryOptions {
  /** Contexts for `kubernetes-job` canaries; KUBECONFIG by default. */
  kubeconfig?: KubeConfig;
}

/** Runs a hook with the credential on stdin only (argv and env are visible to other processes). */
function runCommand(c: CommandCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  return new Promise((resolve) => {
    const [cmd, ...args] = c.command as [string, ...string[]];
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal,
      timeout: c.timeout,
      killSignal: 'SIGKILL',
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => resolve({ ok: false, detail: `could not run ${cmd}: ${e.message}` }));
    child.on('close', (code, sig) => {
      if (code === 0) resolve({ ok: true, detail: 'exit 0' });
      else {
        const why = sig ? `killed by ${sig}${sig === 'SIGKILL' ? ` (timeout ${c.timeout}ms?)` : ''}` : `exit ${code}`;
        resolve({ ok: false, detail: `${cmd} ${why}: ${redact(output.trim(), [credential]).slice(-500)}` });
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(credential);
  });
}

async function runHttp(c: HttpCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  const timeout = AbortSignal.timeout(c.timeout);
  try {
    const res = await fetch(c.url, {
      method: c.method,
      headers: { [c.header]: c.valueTemplate.replace('{credential}', credential) },
      signal: AbortSignal.any([signal, timeout]),
    });
    await res.body?.cancel();
    return res.status === c.expectStatus
      ? { ok: true, detail: `HTTP ${res.status}` }
      : { ok: false, detail: `${c.method} ${c.url} answered ${res.status}, expected ${c.expectStatus}` };
  } catch (e) {
    return { ok: false, detail: `${c.method} ${c.url} failed: ${redact((e as Error).message, [credential])}` };
  }
}

/** A stored JSON credential for a canary, or why it is unusable (without quoting it). */
function parsed<T>(parse: () => T): T | CanaryOutcome {
  try {
    return parse();
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

async function runPostgresLogin(
  c: PostgresLoginCanary,
  credential: string,
  signal: AbortSignal,
): Promise<CanaryOutcome> {
  const cred = parsed(() => parseUserPassword(credential, 'the credential'));
  if ('ok' in cred) return cred;
  const target = { host: c.host, port: c.port, database: c.database };
  const started = Date.now();
  const out = await tryPostgresLogin(target, cred, {
    query: c.query,
    timeoutMs: c.timeout,
    signal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
  });
  if (out.ok) return { ok: true, detail: `logged in as '${cred.username}', query returned ${out.message}` };
  const timedOut = Date.now() - started >= c.timeout ? ` (timeout ${c.timeout}ms)` : '';
  return { ok: false, detail: `as '${cred.username}': ${out.code ?? 'error'} ${out.message}${timedOut}` };
}

async function runAwsSts(c: AwsStsCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  const key = parsed(() => parseAccessKeyPair(credential, 'the credential'));
  if ('ok' in key) return key;
  const sts = new STSClient({
    credentials: key,
    maxAttempts: 2,
    ...(c.region ? { region: c.region } : {}),
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
  });
  try {
    const res = await sts.send(new GetCallerIdentityCommand({}), {
      abortSignal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
    });
    const arn = res.Arn ?? '(no ARN)';
    if (c.expectedArn && arn !== c.expectedArn)
      return { ok: false, detail: `key authenticates as ${arn}, expected ${c.expectedArn}` };
    return { ok: true, detail: `GetCallerIdentity: ${arn}` };
  } catch (e) {
    const err = e as Error;
    return {
      ok: false,
      detail: `GetCallerIdentity failed: ${redact(`${err.name}: ${err.message}`, [key.secretAccessKey, credential])}`,
    };
  } finally {
    sts.destroy();
  }
}

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
              securityContext: { allowPrivilegeEscalation: false },
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

/** Waits `ms` or until `signal` aborts, without leaving a listener behind on each poll. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

function apiError(e: unknown): string {
  if (e instanceof ApiException) {
    const body = (e.body ?? '') as unknown;
    const message = typeof body === 'string' ? (/"message":"([^"]*)"/.exec(body)?.[1] ?? body) : JSON.stringify(body);
    return `HTTP ${e.code}: ${message}`.slice(0, 300);
  }
  return (e as Error).message;
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
      .readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace: c.namespace, tailLines: 20, limitBytes: 4096 })
      .catch(() => '');
    if (log.trim()) part += `: ${redact(log.trim(), [credential]).slice(-500)}`;
    parts.push(part);
  }
  return parts.join('; ');
}

/**
 * Creates the canary Job and a Secret with the credential, waits for the Job to succeed or fail
 * within the timeout, and deletes both. A cluster that never runs the pod ends in a timeout that
 * says so.
 */
async function runKubernetesJob(
  c: KubernetesJobCanary,
  credential: string,
  signal: AbortSignal,
  opts: CanaryOptions,
): Promise<CanaryOutcome> {
  const base = opts.kubeconfig ?? loadKubeconfig();
  if (!base.getContextObject(c.cluster)) {
    const known =
      base
        .getContexts()
        .map((x) => x.name)
        .join(', ') || 'none';
    return { ok: false, detail: `kubeconfig has no context '${c.cluster}' (it has: ${known})` };
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: base.users,
    contexts: base.contexts,
    currentContext: c.cluster,
  });
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const name = canaryJobName(c.name);
  const where = `Job ${c.namespace}/${name} in ${c.cluster}`;
  const deadline = Date.now() + c.timeout;
  const stop = AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]);
  let created = false;
  try {
    const job = await batch.createNamespacedJob({ namespace: c.namespace, body: buildCanaryJob(c, name) });
    created = true;
    await core.createNamespacedSecret({ namespace: c.namespace, body: buildCanarySecret(c, job, credential) });
    while (!stop.aborted) {
      const status = (await batch.readNamespacedJobStatus({ name, namespace: c.namespace })).status;
      const done = status?.conditions?.find(
        (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
      );
      if (done?.type === 'Complete' || (status?.succeeded ?? 0) > 0) return { ok: true, detail: `${where} succeeded` };
      if (done?.type === 'Failed' || (status?.failed ?? 0) > 0) {
        return {
          ok: false,
          detail: `${where} failed${done?.reason ? ` (${done.reason})` : ''}: ${await podSummary(core, c, name, credential)}`,
        };
      }
      await sleep(Math.min(2_000, Math.max(0, deadline - Date.now())), stop);
    }
    if (signal.aborted) return { ok: false, detail: `${where} cancelled` };
    return {
      ok: false,
      detail: `${where} did not finish within ${c.timeout}ms: ${await podSummary(core, c, name, credential)}`,
    };
  } catch (e) {
    return { ok: false, detail: `${where}: ${redact(apiError(e), [credential])}` };
  } finally {
    if (created) {
      await batch
        .deleteNamespacedJob({ name, namespace: c.namespace, propagationPolicy: 'Background' })
        .catch(() => undefined);
    }
    await core.deleteNamespacedSecret({ name, namespace: c.namespace }).catch(() => undefined);
  }
}

/** Runs one canary check with the credential; the outcome's detail never contains it. */
export function runCanaryCheck(
  c: Canary,
  credential: string,
  signal: AbortSignal,
  opts: CanaryOptions = {},
): Promise<CanaryOutcome> {
  switch (c.type) {
    case 'command':
      return runCommand(c, credential, signal);
    case 'http':
      return runHttp(c, credential, signal);
    case 'postgres-login':
      return runPostgresLogin(c, credential, signal);
    case 'aws-sts':
      return runAwsSts(c, credential, signal);
    case 'kubernetes-job':
      return runKubernetesJob(c, credential, signal, opts);
  }
}
