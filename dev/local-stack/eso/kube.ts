import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadYaml,
} from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterName, StackPaths } from '../config';
import { sleep } from '../process';
import { esoApiVersion } from './manifests';
import type { CrdManifest } from './manifests';

/** Field manager of everything the stack applies, so re-applies own (and may update) the same fields. */
const fieldManager = 'rotor-stack';

/** Per-cluster kubeconfig written by the kube service. */
export function clusterKubeconfig(paths: StackPaths, cluster: ClusterName): string {
  return join(paths.stateDir, 'kube', `${cluster}.kubeconfig`);
}

/** A KubeConfig for one cluster; throws a message pointing at the kube service when it is missing. */
export function loadCluster(paths: StackPaths, cluster: ClusterName): KubeConfig {
  const file = clusterKubeconfig(paths, cluster);
  if (!existsSync(file)) throw new Error(`${cluster}: no kubeconfig at ${file} (is the kube service up?)`);
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** Rejects after `ms`, naming `what`; keeps health checks quick when an apiserver hangs. */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A one-line message for an error; API errors keep their status and the server's message only. */
export function describeError(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = typeof e.body === 'string' ? safeJson(e.body) : e.body;
    const msg =
      typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
        ? body.message
        : '';
    return `HTTP ${e.code}${msg ? `: ${msg.slice(0, 300)}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The object as client-node's typed model. Its serializer sends built-in kinds through their
 * models and silently drops raw keys it does not map (a CRD schema's `x-kubernetes-*` and
 * `default`); round-tripping through `loadYaml` maps them. Custom kinds pass through unchanged.
 */
function typed(obj: KubernetesObject): KubernetesObject {
  return loadYaml<KubernetesObject>(JSON.stringify(obj));
}

/**
 * Server-side applies objects in order (a namespace before what lives in it), forced, as
 * {@link fieldManager}. Server-side apply keeps no last-applied annotation, which ESO's ~300 KB
 * store CRDs would overflow.
 */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  // A fresh client per call: its API discovery cache must see CRDs established since the last call.
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    await api.patch(typed(obj), undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
}

/** Applies the CRDs and waits until every one reports Established. */
export async function applyCrds(kc: KubeConfig, crds: CrdManifest[], timeoutMs = 60_000): Promise<void> {
  await applyObjects(kc, crds);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  let pending = crds.map((c) => c.metadata.name);
  for (;;) {
    const established = await Promise.all(
      pending.map(async (name) => {
        const crd = await ext.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      }),
    );
    pending = pending.filter((_, i) => !established[i]);
    if (pending.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`CRDs not Established after ${timeoutMs / 1000}s: ${pending.join(', ')}`);
    await sleep(500);
  }
}

/**
 * Applies objects of just-established CRDs, retrying while API discovery does not list the new
 * resources yet.
 */
export async function applyNewKinds(kc: KubeConfig, objects: KubernetesObject[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await applyObjects(kc, objects);
      return;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const notServedYet = /Unrecognized API version and kind|Failed to fetch resource metadata/.test(msg);
      if (!notServedYet || Date.now() > deadline) throw e;
      await sleep(500);
    }
  }
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** Why a ClusterSecretStore is not Ready, or undefined when its Ready condition is True. */
export async function clusterStoreNotReady(
  kc: KubeConfig,
  name: string,
  timeoutMs = 3000,
): Promise<string | undefined> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const [group, version = ''] = esoApiVersion.split('/');
  let store: { status?: { conditions?: Condition[] } };
  try {
    const read = api.getClusterCustomObject({ group: group ?? '', version, plural: 'clustersecretstores', name });
    store = (await withTimeout(`reading ClusterSecretStore ${name}`, timeoutMs, read)) as typeof store;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return 'does not exist';
    throw e;
  }
  const ready = store.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return undefined;
  if (!ready) return 'no Ready condition yet';
  return `Ready=${ready.status ?? '?'} (${ready.reason ?? 'no reason'}${ready.message ? `: ${ready.message.slice(0, 200)}` : ''})`;
}
