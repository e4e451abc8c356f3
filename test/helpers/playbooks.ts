import { randomUUID } from 'node:crypto';
import type { PlaybookInput, Store } from '../../playbooks/schema';
import { playbookSchema } from '../../playbooks/schema';
import type { Playbook } from '../../playbooks/schema';

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
