/**
 * The worker's admission and identity activities under `identity: kubernetes` for the
 * time-skipping tests: the dev policy with that identity, the controller's attestation keys (made
 * for the test, which the attacker lacks) and an admission key of its own.
 */
import { randomBytes } from 'node:crypto';
import { createAdmissionActivities } from '../../activities/admission';
import { createIdentityActivities } from '../../activities/identity';
import { admissionKeys } from '../../adapters/admission-token';
import { attestationKeys } from '../../adapters/controller-attestation';
import { keyring } from '../../adapters/keys';
import { loadPolicyFile } from '../../adapters/policy-file';
import { devPolicyFile } from '../../dev/local-stack/config';

/** The controller's keys (derived from a fingerprint key made for the test) and the activities checking them. */
export function kubeIdentityActivities() {
  const keys = attestationKeys(keyring([{ id: 'ts-fingerprint', key: randomBytes(32) }]));
  const policy = { ...loadPolicyFile(devPolicyFile), identity: 'kubernetes' as const };
  const activities = {
    ...createAdmissionActivities({
      policy,
      defaults: {},
      keys: admissionKeys(keyring([{ id: 'ts-admission', key: randomBytes(32) }])),
      attestationKeys: keys,
      // The time-skipping server has no visibility list: the earlier runs of a request or incident
      // (a replayed copy of its attestation) are looked up on the real server in test/integration.
      listRuns: async function* () {},
    }),
    ...createIdentityActivities(keys),
  };
  return { keys, activities };
}
