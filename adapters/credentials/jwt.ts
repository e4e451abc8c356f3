import type { Credential } from '../../core/playbook/schema';
import type { JwksTarget } from '../../core/playbook/jwks-targets';
import { ErrorTypes, permanent } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import type { KubeClients } from '../kubernetes/clients';
import { describeJwks, readJwks, updateJwks } from '../kubernetes/jwks';
import type { JwksLocation } from '../kubernetes/jwks';
import type { CredentialKind } from './kind';
import {
  generateSigningJwk,
  kidsOf,
  parsePrivateJwk,
  publicOf,
  signTestToken,
  verifyThrough,
  withKeys,
  withoutKid,
} from './jwk';

type JwtCredential = Extract<Credential, { kind: 'jwt-signing-key' }>;

/** The targets of a credential, which rotor resolved from `spec.clusters` when it read the playbook. */
function targetsOf(p: JwtCredential): JwksTarget[] {
  const targets = p.jwks.targets ?? [];
  if (targets.length === 0)
    throw permanent(
      ErrorTypes.invalidInput,
      'spec.credential.jwks.targets is empty: a jwt-signing-key publishes its JWKS in the clusters of the playbook (spec.clusters), and there are none',
    );
  return targets;
}

const locationOf = (p: JwtCredential): JwksLocation => ({ configMap: p.jwks.configMap, key: p.jwks.key });

/** What revoke found at one target, read back after removing the old key. */
interface TargetProof {
  where: string;
  present: boolean;
  oldGone: boolean;
  currentPresent: boolean;
  oldTokenRefused: boolean;
  currentTokenVerified: boolean;
  note: string;
}

/**
 * A JWT signing key pair (EdDSA Ed25519 or ES256), generated with `jose`. The stored value is the
 * private JWK with its `kid`; the public keys are published as a JWKS in a ConfigMap of every
 * cluster target (`jwks.targets`, resolved from `spec.clusters`), through the worker's kube
 * clients. Create publishes the new public key beside the current one, so verifiers know it before
 * any signer uses it (promote); revoke, after a soak of at least one maximum token lifetime,
 * removes the old public key and proves it gone by reading every JWKS back and verifying that a
 * token signed with the old key is refused through it. Keys of the JWKS rotor did not write stay.
 */
export function jwtSigningKeyKind(deps: { kube: () => KubeClients }): CredentialKind<JwtCredential> {
  return {
    // Only `d` is secret: kids (and the public key) may appear in evidence.
    secretParts(value) {
      try {
        return [parsePrivateJwk(value, 'the value').d];
      } catch {
        return [value];
      }
    },

    async create(p, { currentValue }) {
      const current = parsePrivateJwk(currentValue, 'the current value');
      const next = await generateSigningJwk(p.algorithm);
      const add = [publicOf(current), publicOf(next)];
      const kube = deps.kube();
      // One at a time per target, all targets side by side: every JWKS holds both keys before the
      // value is stored as pending, so no signer can use a key a verifier does not know.
      await Promise.all(
        targetsOf(p).map((t) => updateJwks(kube, t, locationOf(p), (jwks) => withKeys(jwks, add), { create: true })),
      );
      return JSON.stringify(next);
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = parsePrivateJwk(pendingValue, 'the pending value');
      const current = parsePrivateJwk(currentValue, 'the current value');
      // The current key keeps verifying; only a key distinct from it is removed.
      if (pending.kid === current.kid) return;
      const kube = deps.kube();
      await Promise.all(
        targetsOf(p).map((t) =>
          updateJwks(kube, t, locationOf(p), (jwks) => withoutKid(jwks, pending.kid), { create: false }),
        ),
      );
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parsePrivateJwk(oldValue, 'the old value');
      const current = parsePrivateJwk(currentValue, 'the current value');
      if (old.kid === current.kid)
        return {
          rejected: false,
          detail: `old and current values are the same key (kid ${old.kid}); not removing the key in use`,
        };
      const kube = deps.kube();
      const at = locationOf(p);
      const targets = targetsOf(p);
      const changes = await Promise.all(
        targets.map((t) => updateJwks(kube, t, at, (jwks) => withoutKid(jwks, old.kid), { create: false })),
      );
      // The proof: every JWKS read back through its apiserver, and tokens checked as a verifier would.
      const [oldToken, currentToken] = await Promise.all([signTestToken(old), signTestToken(current)]);
      const proofs = await Promise.all(
        targets.map(async (t, i): Promise<TargetProof> => {
          const where = describeJwks(t, at);
          const jwks = await readJwks(kube, t, at);
          if (!jwks)
            return {
              where,
              present: false,
              oldGone: true,
              currentPresent: false,
              oldTokenRefused: true,
              currentTokenVerified: false,
              note: 'WARNING: the ConfigMap does not exist (deleted by someone else); verifiers there know no key',
            };
          const kids = kidsOf(jwks);
          const [oldCheck, currentCheck] = await Promise.all([
            verifyThrough(oldToken, jwks),
            verifyThrough(currentToken, jwks),
          ]);
          return {
            where,
            present: true,
            oldGone: !kids.includes(old.kid),
            currentPresent: kids.includes(current.kid),
            oldTokenRefused: !oldCheck.ok && oldCheck.noKey,
            currentTokenVerified: currentCheck.ok,
            note: `${changes[i] === 'updated' ? 'old key removed' : 'old key already gone'}; kids now [${kids.join(', ')}]`,
          };
        }),
      );
      const rejected = proofs.every((x) => x.oldGone && x.oldTokenRefused);
      const lines = proofs.map((x) => {
        if (!x.present) return `${x.where}: ${x.note}`;
        const oldPart = x.oldGone
          ? `kid ${old.kid} absent, a token signed with it refused (${x.oldTokenRefused ? 'no matching key' : 'NOT refused'})`
          : `kid ${old.kid} STILL PUBLISHED`;
        const currentPart = x.currentTokenVerified
          ? `a token signed with the current key (kid ${current.kid}) verifies`
          : `WARNING: a token signed with the current key (kid ${current.kid}) does not verify${x.currentPresent ? '' : ': its kid is not published'}`;
        return `${x.where}: ${x.note}; ${oldPart}; ${currentPart}`;
      });
      return {
        rejected,
        detail: `JWKS of ${targets.length} cluster target(s) read back: ${lines.join(' | ')}; tokens already issued with the old key no longer verify where verifiers refresh the JWKS`,
      };
    },
  };
}
