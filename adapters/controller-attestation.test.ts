import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { playbookSchema } from '../core/playbook/schema';
import type { RotationInput } from '../core/status';
import { admissionKeys } from './admission-token';
import {
  actionClaim,
  attest,
  attestationKeys,
  attestationProblem,
  attestationValidityMs,
  attestedInput,
} from './controller-attestation';
import type { AttestedClaim } from './controller-attestation';
import { keyring } from './keys';

const fingerprint = keyring([{ id: 'k1', key: randomBytes(32) }]);
const keys = attestationKeys(fingerprint);
const playbook = playbookSchema.parse({
  apiVersion: 'rotor.dev/v1',
  kind: 'RotationPlaybook',
  metadata: { name: 'db' },
  spec: {
    secret: { name: 'orders-db', store: { type: 'vault', path: 'apps/orders/db' } },
    credential: { kind: 'random' },
  },
});
const input: RotationInput = {
  playbook,
  playbookFile: 'rotationplaybooks/orders/db',
  trigger: 'manual',
  requestedBy: 'alice',
  namespace: 'orders',
};
const t = 1_800_000_000_000;
const request: AttestedClaim = {
  kind: 'request',
  workflowId: 'rotate/orders-db',
  requestUid: 'uid-1',
  input: attestedInput(input),
};
const att = attest(keys, request, t);

describe('controller attestations', () => {
  it('vouch for the claim they were made for, within their time', () => {
    expect(attestationProblem(keys, att, request, t + 1000)).toBeUndefined();
    // The playbook as the worker checks it again (defaults applied twice) is the same claim.
    const reparsed = { ...input, playbook: playbookSchema.parse(JSON.parse(JSON.stringify(playbook))) };
    expect(attestationProblem(keys, att, { ...request, input: attestedInput(reparsed) }, t)).toBeUndefined();
  });

  it.each<[string, AttestedClaim]>([
    ['another rotation id', { ...request, workflowId: 'rotate/payments-db' }],
    ['another RotationRequest', { ...request, requestUid: 'uid-2' }],
    ['another requester', { ...request, input: attestedInput({ ...input, requestedBy: 'mallory' }) }],
    ['another namespace', { ...request, input: attestedInput({ ...input, namespace: 'payments' }) }],
    [
      'a compromised emergency',
      { ...request, input: attestedInput({ ...input, trigger: 'emergency', emergency: { compromised: true } }) },
    ],
    [
      'another store path',
      {
        ...request,
        input: attestedInput({
          ...input,
          playbook: {
            ...playbook,
            spec: {
              ...playbook.spec,
              secret: { ...playbook.spec.secret, store: { ...playbook.spec.secret.store, path: 'apps/x' } as never },
            },
          },
        }),
      },
    ],
    ['a schedule', { kind: 'schedule', scheduleId: 'rotor-playbook/orders/db', input: attestedInput(input) }],
  ])('do not vouch for %s', (_what, claim) => {
    expect(attestationProblem(keys, att, claim, t)).toMatch(/does not vouch/);
  });

  it('expire for requests and actions, not for schedules', () => {
    expect(attestationProblem(keys, att, request, t + attestationValidityMs + 1)).toMatch(/more than 10 minutes/);
    const schedule: AttestedClaim = { kind: 'schedule', scheduleId: 'rotor-playbook/orders/db', input: request.input };
    const s = attest(keys, schedule, 0);
    expect(s.scheduleId).toBe('rotor-playbook/orders/db');
    expect(attestationProblem(keys, s, schedule, t)).toBeUndefined();
  });

  it('bind an action to its rotation run, user and reason', () => {
    const claim = actionClaim('approve', 'rotate/orders-db', 'run-1', { by: 'bob', reason: 'ok' });
    const a = attest(keys, claim, t);
    expect(attestationProblem(keys, a, claim, t)).toBeUndefined();
    for (const other of [
      actionClaim('abort', 'rotate/orders-db', 'run-1', { by: 'bob', reason: 'ok' }),
      actionClaim('approve', 'rotate/orders-db', 'run-2', { by: 'bob', reason: 'ok' }),
      actionClaim('approve', 'rotate/orders-db', 'run-1', { by: 'alice', reason: 'ok' }),
      actionClaim('approve', 'rotate/orders-db', 'run-1', { by: 'bob' }),
    ])
      expect(attestationProblem(keys, a, other, t)).toMatch(/does not vouch for this action/);
  });

  it('cannot be made with another key: not the admission keys, not a key of another keyring', () => {
    const other = attest(attestationKeys(keyring([{ id: 'k1', key: randomBytes(32) }])), request, t);
    expect(attestationProblem(keys, other, request, t)).toMatch(/does not vouch/);
    const admission = attest(admissionKeys(fingerprint), request, t);
    expect(attestationProblem(keys, admission, request, t)).toMatch(/does not vouch/);
    expect(attestationProblem(keys, { ...att, keyId: 'k9' }, request, t)).toMatch(/key 'k9' is not in/);
    expect(attestationProblem(keys, undefined, request, t)).toMatch(/carries no attestation/);
  });
});
