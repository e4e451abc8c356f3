import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { stackPaths } from '../../dev/local-stack/config';
import { ensureClientCert } from '../../dev/local-stack/kube/pki';
import { resourceGroup, resourceVersion } from '../../core/resources';
import type { Condition, ConditionType } from '../../core/resources';
import type { RotorObject, RotorPlural } from '../../adapters/kubernetes/rotor-resources';
import { kubeconfigFor } from './kube';

/**
 * A KubeConfig of `cluster` that authenticates as `user` with a client certificate of its own,
 * signed by the stack's kube CA (which the apiservers trust): a real second user, no admin token;
 * a member of `group` when given.
 */
export async function kubeUser(cluster: string, user: string, group?: string): Promise<KubeConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-kube-user-'));
  try {
    const files = { cert: join(dir, 'user.crt'), key: join(dir, 'user.key') };
    // The certificate's O= is the user's group, as the apiserver authenticates it.
    await ensureClientCert(stackPaths().stateDir, files, user, group);
    const base = kubeconfigFor(cluster);
    const c = base.getCurrentCluster();
    if (!c) throw new Error(`no cluster ${cluster} in the stack's kubeconfig`);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [c],
      users: [
        {
          name: user,
          certData: readFileSync(files.cert).toString('base64'),
          keyData: readFileSync(files.key).toString('base64'),
        },
      ],
      contexts: [{ name: cluster, cluster: c.name, user }],
      currentContext: cluster,
    });
    return kc;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Grants `user` exactly `rules` in `namespace` (a Role and its RoleBinding, named after the user). */
export async function grant(admin: KubeConfig, namespace: string, user: string, rules: V1PolicyRule[]): Promise<void> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: user }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
}

/** The rules of the chart's controller ClusterRole (templates/controller-rbac.yaml), as shipped. */
function chartControllerRules(): V1PolicyRule[] {
  const text = readFileSync('deploy/helm/rotor/templates/controller-rbac.yaml', 'utf8');
  const rules = /\nrules:\n([\s\S]*?)\n---/.exec(text)?.[1];
  if (!rules) throw new Error('no rules in the chart controller ClusterRole');
  return parse(rules) as V1PolicyRule[];
}

/**
 * rotor's controller as a user of its own on `cluster`: a client certificate, and only the chart's
 * controller ClusterRole (no admin rights). `remove` deletes the role and its binding.
 */
export async function chartControllerUser(
  admin: KubeConfig,
  cluster: string,
  user: string,
): Promise<{ kubeconfig: KubeConfig; remove(): Promise<void> }> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: user }, rules: chartControllerRules() } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  return {
    kubeconfig: await kubeUser(cluster, user),
    async remove() {
      await rbac.deleteClusterRoleBinding({ name: user }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: user }).catch(() => undefined);
    },
  };
}

/**
 * A RotorPolicy whose tenants are management cluster namespaces, each allowed one Vault prefix:
 * `tenants` maps a tenant name to its namespace and prefix; `extra` adds top-level fields.
 */
export function namespaceTenantsPolicy(
  tenants: Record<string, { namespace: string; pathPrefix: string; allow?: Record<string, unknown> }>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'rotor.dev/v1',
    kind: 'RotorPolicy',
    ...extra,
    tenants: Object.entries(tenants).map(([name, t]) => ({
      name,
      match: { namespaces: [t.namespace] },
      allow: { vault: [{ pathPrefix: t.pathPrefix }], ...t.allow },
    })),
  };
}

const api = { group: resourceGroup, version: resourceVersion };

/** Creates one of rotor's objects as the user of `kc`. */
export function createRotorObject(
  kc: KubeConfig,
  plural: RotorPlural,
  namespace: string,
  name: string,
  spec: unknown,
): Promise<unknown> {
  const kind = {
    rotationplaybooks: 'RotationPlaybook',
    rotationrequests: 'RotationRequest',
    rotationapprovals: 'RotationApproval',
    rotationincidents: 'RotationIncident',
  }[plural];
  return kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...api,
    plural,
    namespace,
    body: { apiVersion: `${resourceGroup}/${resourceVersion}`, kind, metadata: { name }, spec },
  });
}

/** Reads one of rotor's objects. */
export async function readRotorObject(
  kc: KubeConfig,
  plural: RotorPlural,
  namespace: string,
  name: string,
): Promise<RotorObject> {
  return (await kc
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ ...api, plural, namespace, name })) as RotorObject;
}

/** Waits until the object has a true condition of one of `types`; returns the object and that condition. */
export async function waitForCondition(
  kc: KubeConfig,
  plural: RotorPlural,
  namespace: string,
  name: string,
  types: readonly ConditionType[],
  timeoutMs = 60_000,
): Promise<{ obj: RotorObject; condition: Condition }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const obj = await readRotorObject(kc, plural, namespace, name);
    const condition = obj.status?.conditions?.find((c) => types.includes(c.type) && c.status === 'True');
    if (condition) return { obj, condition };
    if (Date.now() > deadline)
      throw new Error(
        `${plural} ${namespace}/${name}: none of ${types.join(', ')} within ${timeoutMs / 1000}s; status ${JSON.stringify(obj.status ?? {})}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The HTTP status and message of an API call the apiserver refused; throws when it was not refused. */
export async function apiRefusal(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
    return { code: e.code, message: body.message ?? '' };
  }
  throw new Error('the call was expected to be refused');
}
