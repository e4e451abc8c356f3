import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Playbook } from '../../../core/playbook/schema';
import { rbacFor } from '../../../inspect/rbac';
import type { RbacSubject } from '../../../inspect/rbac';
import { createOrReplace, kubeconfigFor, stackKubeconfig, statusOf } from '../kube-clients';

/** Creates something shared; 409 means someone else made it meanwhile, which is as good. */
async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  const status = await statusOf(call);
  if (status !== 200 && status !== 409) throw new Error(`creating a shared identity failed: HTTP ${status}`);
}

/** How a ServiceAccount's token is issued: a TokenRequest of this many seconds, or a `service-account-token` Secret that lasts. */
export type TokenKind = { expirationSeconds: number } | 'lasting';

/**
 * A token of ServiceAccount `sa`: from the TokenRequest API, or (`lasting`, for a long-lived
 * service of the stack) the one the token controller writes into a Secret `<name>-token`.
 */
export async function serviceAccountToken(
  core: CoreV1Api,
  sa: { name: string; namespace: string },
  kind: TokenKind,
): Promise<string> {
  if (kind !== 'lasting') {
    const tr = await core.createNamespacedServiceAccountToken({
      ...sa,
      body: { spec: { audiences: [], expirationSeconds: kind.expirationSeconds } },
    });
    return tr.status?.token ?? '';
  }
  const name = `${sa.name}-token`;
  await ignoreConflict(
    core.createNamespacedSecret({
      namespace: sa.namespace,
      body: {
        metadata: { name, annotations: { 'kubernetes.io/service-account.name': sa.name } },
        type: 'kubernetes.io/service-account-token',
      },
    }),
  );
  for (let i = 0; i < 100; i++) {
    const s = await core.readNamespacedSecret({ namespace: sa.namespace, name });
    const token = s.data?.['token'];
    if (token) return Buffer.from(token, 'base64').toString('utf8');
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the token controller never filled Secret ${sa.namespace}/${name}`);
}

/**
 * Applies what `rotor rbac` prints for `playbooks` in the clusters `only` accepts (their Role and
 * RoleBinding per cluster, replaced when they exist; the playbooks' namespaces must exist) and
 * returns, per kubeconfig context, a token of the ServiceAccount `subject` (`kind`). The
 * ServiceAccount and its namespace are created when missing and left in place (shared by tests
 * and the stack's `workers` service).
 */
export async function generatedIdentityTokens(
  playbooks: readonly Playbook[],
  subject: RbacSubject,
  only: (context: string) => boolean = () => true,
  kind: TokenKind = { expirationSeconds: 3600 },
): Promise<Map<string, string>> {
  const base = stackKubeconfig();
  const tokens = new Map<string, string>();
  for (const generated of playbooks.flatMap((p) => rbacFor(p, subject)).filter((g) => only(g.context))) {
    const kc = kubeconfigFor(generated.context, base);
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    if ((await statusOf(core.readNamespace({ name: subject.namespace }))) === 404)
      await ignoreConflict(core.createNamespace({ body: { metadata: { name: subject.namespace } } }));
    const sa = { name: subject.serviceAccount, namespace: subject.namespace };
    if ((await statusOf(core.readNamespacedServiceAccount(sa))) === 404)
      await ignoreConflict(
        core.createNamespacedServiceAccount({ namespace: sa.namespace, body: { metadata: { name: sa.name } } }),
      );
    const namespace = generated.role.metadata?.namespace ?? '';
    const role = generated.role.metadata?.name ?? '';
    const binding = generated.binding.metadata?.name ?? '';
    await createOrReplace(
      () => rbac.createNamespacedRole({ namespace, body: generated.role }),
      () => rbac.replaceNamespacedRole({ namespace, name: role, body: generated.role }),
    );
    await createOrReplace(
      () => rbac.createNamespacedRoleBinding({ namespace, body: generated.binding }),
      () => rbac.replaceNamespacedRoleBinding({ namespace, name: binding, body: generated.binding }),
    );
    tokens.set(generated.context, await serviceAccountToken(core, sa, kind));
  }
  return tokens;
}
