import { KubeConfig } from '@kubernetes/client-node';
import type { Playbook } from '../../core/playbook/schema';
import type { RbacSubject } from '../../inspect/rbac';
import { createActivities } from '../../activities/index';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { depsFromEnv } from '../../workers/deps';
import { generatedIdentityTokens } from '../../dev/local-stack/workers/rbac-identity';
import { stackKubeconfig } from './kube';
import { outcomeOf, startRotation, startTestWorker } from './worker';

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
