import { randomUUID } from 'node:crypto';
import type { PlaybookInput, Store } from '../../core/playbook/schema';
import { playbookSchema } from '../../core/playbook/schema';
import type { Playbook } from '../../core/playbook/schema';
import type { CoreV1Api } from '@kubernetes/client-node';
import { awsTestStore } from './stores';
import type { TestStore } from './stores';

/** A validated playbook for `store` with a unique secret name; `spec` overrides the defaults. */
export function testPlaybook(store: Store, spec: Partial<PlaybookInput['spec']> = {}): Playbook {
  const name = `t-${randomUUID().slice(0, 8)}`;
  return playbookSchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name },
    spec: {
      secret: { name, store },
      credential: { kind: 'random', length: 32 },
      ...spec,
    },
  });
}

/**
 * A secret already pushed everywhere: `secretName` holding `initial` in `namespace` of each of
 * `clusters`, a Secrets Manager store holding it, and a push playbook over those clusters; `spec`
 * adds the credential, canaries and timeouts.
 */
export async function pushedSecret(o: {
  clusters: Record<string, CoreV1Api>;
  namespace: string;
  secretName: string;
  initial: string;
  spec: Partial<PlaybookInput['spec']>;
}): Promise<{ ts: TestStore; playbook: Playbook }> {
  const { namespace, secretName, initial } = o;
  for (const core of Object.values(o.clusters))
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: secretName }, stringData: { value: initial } },
    });
  const ts = await awsTestStore(initial);
  const playbook = testPlaybook(ts.store, {
    clusters: Object.keys(o.clusters).map((name) => ({
      name,
      delivery: 'push' as const,
      namespace,
      secretName,
      workloads: [],
    })),
    ...o.spec,
  });
  return { ts, playbook };
}
