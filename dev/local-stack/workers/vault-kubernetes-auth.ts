/**
 * Vault's Kubernetes auth method on the stack's Vault, set up for one chart release as an operator
 * would (docs/production.md "Identities"): a mount of the caller's own (a test's, or the stack's
 * `workers` service's), checking tokens with
 * cluster-a's TokenReview through a reviewer ServiceAccount (Vault sits outside the cluster, and
 * the pods' tokens, of audience `vault`, cannot call the apiserver themselves), and a role binding
 * the release's ServiceAccount to one policy. Also: the policies of the tokens that mount issued.
 */
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import vaultClient from 'node-vault';
import { clusterCaPem, createOrReplace, statusOf } from '../kube-clients';
import { useStackEnv } from '../stack-env';
import { serviceAccountToken } from './rbac-identity';
import type { TokenKind } from './rbac-identity';

/**
 * A Vault policy's rules for rotating KV v2 entries at `path` of `mount` (a glob, e.g. `team/*`):
 * write new versions, read them, destroy old ones.
 */
export function kvRotationRules(mount: string, path: string): string {
  return [
    `path "${mount}/data/${path}" { capabilities = ["create", "read", "update"] }`,
    `path "${mount}/metadata/${path}" { capabilities = ["create", "read", "update"] }`,
    `path "${mount}/destroy/${path}" { capabilities = ["update"] }`,
  ].join('\n');
}

export interface VaultKubernetesRole {
  /** The auth mount (`vault.auth.kubernetes.mount` of the chart). */
  mount: string;
  /** The role (`vault.auth.kubernetes.role`). */
  role: string;
  /** The only policy the role's tokens carry besides Vault's `default`. */
  policy: string;
  /** Policies of every live token this mount issued (one entry per login). */
  issuedTokenPolicies(): Promise<string[][]>;
  close(): Promise<void>;
}

/**
 * Enables `auth/<mount>` (type kubernetes) against the kubeconfig's current cluster, a policy
 * `<mount>` with `rules`, and role `rotor` for ServiceAccount `serviceAccount` of `namespace`
 * with audience `vault`, as the chart's projected token carries. Idempotent: what exists is
 * brought to this configuration. The reviewer's token lasts 2 h, or (`lasting`) as long as its Secret.
 */
export async function vaultKubernetesRole(
  kc: KubeConfig,
  o: { mount: string; namespace: string; serviceAccount: string; rules: string; reviewerToken?: TokenKind },
): Promise<VaultKubernetesRole> {
  const env = useStackEnv();
  const root = vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const reviewer = `${o.mount}-reviewer`;
  const role = 'rotor';
  const sa = await statusOf(
    core.createNamespacedServiceAccount({ namespace: o.namespace, body: { metadata: { name: reviewer } } }),
  );
  if (sa !== 200 && sa !== 409)
    throw new Error(`creating ServiceAccount ${o.namespace}/${reviewer} failed: HTTP ${sa}`);
  const binding = {
    metadata: { name: reviewer },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: reviewer, namespace: o.namespace }],
  };
  await createOrReplace(
    () => rbac.createClusterRoleBinding({ body: binding }),
    () => rbac.replaceClusterRoleBinding({ name: reviewer, body: binding }),
  );
  const reviewerToken = await serviceAccountToken(
    core,
    { name: reviewer, namespace: o.namespace },
    o.reviewerToken ?? { expirationSeconds: 7200 },
  );
  await root.addPolicy({ name: o.mount, rules: o.rules });
  const mounts = (await root.auths()) as { data?: Record<string, unknown> };
  if (!(`${o.mount}/` in (mounts.data ?? {}))) await root.enableAuth({ mount_point: o.mount, type: 'kubernetes' });
  await root.write(`auth/${o.mount}/config`, {
    kubernetes_host: kc.getCurrentCluster()?.server,
    kubernetes_ca_cert: clusterCaPem(kc),
    token_reviewer_jwt: reviewerToken,
  });
  await root.write(`auth/${o.mount}/role/${role}`, {
    bound_service_account_names: o.serviceAccount,
    bound_service_account_namespaces: o.namespace,
    audience: 'vault',
    token_policies: o.mount,
    token_ttl: '1h',
  });
  return {
    mount: o.mount,
    role,
    policy: o.mount,
    async issuedTokenPolicies() {
      const list = (await root.list('auth/token/accessors')) as { data: { keys: string[] } };
      const tokens = await Promise.all(
        list.data.keys.map(async (accessor) => {
          const t = (await root.write('auth/token/lookup-accessor', { accessor }).catch(() => undefined)) as
            { data: { path?: string; policies?: string[] } } | undefined;
          return t?.data;
        }),
      );
      return tokens.filter((t) => t?.path === `auth/${o.mount}/login`).map((t) => [...(t?.policies ?? [])].sort());
    },
    async close() {
      await root.disableAuth({ mount_point: o.mount }).catch(() => undefined);
      await root.removePolicy({ name: o.mount }).catch(() => undefined);
      await rbac.deleteClusterRoleBinding({ name: reviewer }).catch(() => undefined);
    },
  };
}
