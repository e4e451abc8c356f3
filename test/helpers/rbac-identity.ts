import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Playbook } from '../../core/playbook/schema';
import { rbacFor } from '../../inspect/rbac';
import type { RbacSubject } from '../../inspect/rbac';
import { createActivities } from '../../activities/index';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { depsFromEnv } from '../../workers/deps';
import { kubeconfigFor, stackKubeconfig, statusOf } from './kube';
import { outcomeOf, startRotation, startTestWorker } from './worker';

/** Creates something shared; 409 means another test made it meanwhile, which is as good. */
async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  const status = await statusOf(call);
  if (status !== 200 && status !== 409) throw new Error(`creating a shared test identity failed: HTTP ${status}`);
}

/**
 * Applies what `rotor rbac` prints for `playbooks` in the clusters `only` accepts (their Role and
 * RoleBinding per cluster; the playbooks' namespaces must exist) and returns, per kubeconfig
 * context, a token of the ServiceAccount `subject` from the TokenRequest API. The ServiceAccount and
 * its namespace are created when missing and left in place (shared by tests).
 */
export async function generatedIdentityTokens(
  playbooks: readonly Playbook[],
  subject: RbacSubject,
  only: (context: string) => boolean = () => true,
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
    await rbac.createNamespacedRole({ namespace, body: generated.role });
    await rbac.createNamespacedRoleBinding({ namespace, body: generated.binding });
    const tr = await core.createNamespacedServiceAccountToken({
      ...sa,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    tokens.set(generated.context, tr.status?.token ?? '');
  }
  return tokens;
}

/**
 * `generatedIdentityTokens` for one playbook, as a kubeconfig of the stack's clusters whose every
 * context authenticates as the ServiceAccount `subject`.
 */
export async function asGeneratedIdentity(playbook: Playbook, subject: RbacSubject): Promise<KubeConfig> {
  const base = stackKubeconfig();
  const tokens = await generatedIdentityTokens([playbook], subject);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: [...tokens].map(([context, token]) => ({ name: `${context}-${subject.serviceAccount}`, token })),
    contexts: base.contexts
      .filter((c) => tokens.has(c.name))
      .map((c) => ({ ...c, user: `${c.name}-${subject.serviceAccount}` })),
    currentContext: [...tokens.keys()][0] ?? '',
  });
  return kc;
}

/**
 * Rotates `playbook` once on a worker whose cluster steps and credential kinds (JWKS, trust
 * bundles) both act as exactly the identity `rotor rbac` generates for it; the run's failure, if any.
 */
export async function rotateAsGeneratedIdentity(playbook: Playbook): Promise<Error | undefined> {
  const restricted = await asGeneratedIdentity(playbook, { serviceAccount: 'rotor', namespace: 'rotor-system' });
  const narrow = await startTestWorker(
    createActivities({
      ...depsFromEnv(),
      kubeconfig: restricted,
      credentialKinds: createCredentialKinds({ ...credentialDepsFromEnv(), kube: () => createKubeClients(restricted) }),
    }),
  );
  try {
    const out = await narrow.run(async () => outcomeOf(await startRotation(narrow, playbook)));
    return out.ok ? undefined : ((out.error.cause as Error | undefined) ?? out.error);
  } finally {
    await narrow.close();
  }
}
