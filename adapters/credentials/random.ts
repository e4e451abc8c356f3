import type { Credential } from '../../core/playbook/schema';
import { generateRandom } from '../generate';
import type { CredentialKind } from './kind';

type RandomCredential = Extract<Credential, { kind: 'random' }>;

/**
 * An opaque random secret shared by rotor and its consumers. It has no target system: create only
 * generates, and revocation happens in the consumers when the old value leaves the dual-read set.
 */
export function randomKind(): CredentialKind<RandomCredential> {
  return {
    create: (policy) => Promise.resolve(generateRandom(policy)),
    discard: () => Promise.resolve(),
    revoke: () =>
      Promise.resolve({
        rejected: true,
        detail: 'random secret: consumers stop accepting it when it leaves the dual-read set',
      }),
  };
}
