import { randomUUID } from 'node:crypto';
import type { PlaybookInput, Store } from '../../core/playbook/schema';
import { playbookSchema } from '../../core/playbook/schema';
import type { Playbook } from '../../core/playbook/schema';

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
