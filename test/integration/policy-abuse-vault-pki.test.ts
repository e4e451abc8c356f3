/**
 * The `vault-pki-certificate` abuses, end to end: a real worker with real activities under the
 * example two-team policy (dev/policy/two-teams.yaml) against the stack's Vault PKI. A payments
 * playbook asks rotor to issue certificates it has no claim to: an orders name from the role both
 * teams share (which Vault itself would allow), an orders alt name beside its own common name, the
 * orders team's own role, and a mount it is not given. Each is refused at plan with the field and
 * the rule, before anything changes: no certificate is issued for the name asked, the orders
 * team's served certificate is not revoked, the payments store holds what it held. The payments
 * team's own certificate still rotates under the same policy.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { parseCertificateBundle } from '../../adapters/credentials/vault-pki-value';
import { vaultFromEnv } from '../../adapters/vault-client';
import { WorkflowErrorTypes } from '../../core/failures';
import type { Playbook, PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { ensurePki, issueBundle, issuedSince, onCrl, pkiSnapshot, revokedInVault, stackPki } from '../helpers/pki';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { manualRotationOutcome, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const playbookFile = 'playbooks/payments/abuse-pki.yaml';
const requestedBy = 'alice@laptop';
const env = useStackEnv();
const suffix = randomBytes(4).toString('hex');
const ours = `web-${suffix}.payments.rotor.test`;
const theirs = `api-${suffix}.orders.rotor.test`;

let tw: TestWorker;
let paymentsInitial = '';
/** The orders team's served certificate, issued with the stack's root token (never through rotor). */
let ordersSerial = '';

beforeAll(async () => {
  await ensurePki();
  tw = await startTestWorker(createActivities(depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' })));
  paymentsInitial = JSON.stringify(await issueBundle(ours));
  ordersSerial = (await issueBundle(theirs)).serialNumber;
}, 120_000);

afterAll(async () => {
  await tw?.close();
});

async function run(playbook: Playbook) {
  return manualRotationOutcome(tw, { playbook, playbookFile, requestedBy });
}

type Spec = Partial<PlaybookInput['spec']>;
const credential = (c: Record<string, unknown>) =>
  ({
    credential: { kind: 'vault-pki-certificate', role: stackPki.leafRole, commonName: ours, ttl: '1h', ...c },
  }) as Spec;
const abuses: { abuse: string; spec: Spec; names: string[]; path: string }[] = [
  {
    abuse: "asks the shared role for the orders team's name",
    spec: credential({ commonName: theirs }),
    names: [theirs],
    path: 'spec.credential.commonName',
  },
  {
    abuse: "slips the orders team's name in as an alt name",
    spec: credential({ altNames: [`www-${suffix}.payments.rotor.test`, theirs] }),
    names: [ours],
    path: 'spec.credential.altNames[1]',
  },
  {
    abuse: "issues from the orders team's role",
    spec: credential({ role: stackPki.otherRole, commonName: `x-${suffix}.${stackPki.otherDomain}` }),
    names: [`x-${suffix}.${stackPki.otherDomain}`],
    path: 'spec.credential.role',
  },
  {
    abuse: 'issues from a PKI mount it is not given',
    spec: credential({ mount: 'pki-rollover' }),
    names: [ours],
    path: 'spec.credential.role',
  },
];

describe('a vault-pki-certificate playbook cannot make rotor its deputy', () => {
  it.each(abuses)('refused before any change when it $abuse', async ({ spec, names, path }) => {
    const before = await pkiSnapshot();
    const store = await awsTestStore(paymentsInitial, undefined, 'payments/');
    const out = await run(testPlaybook(store.store, spec));
    if (out.ok) throw new Error('rotated although the policy forbids it');
    const failure = (out.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
    expect(failure.message).toContain('refused by the rotor policy, nothing was changed');
    expect(failure.message).toContain(`${path}: `);
    expect(failure.message).toContain('policy rule tenants[payments].allow.pki');
    // Nothing changed: no certificate for the names asked, the orders certificate valid, the store as it was.
    for (const n of names) expect(await issuedSince(before, n)).toEqual([]);
    expect(await revokedInVault(ordersSerial)).toBe(false);
    const snap = await store.snapshot();
    expect(snap.currentValue === paymentsInitial).toBe(true);
    expect(snap.pendingVersion).toBeNull();
  });

  it('the comparison can fail: a certificate issued for a name, and a revoked serial, are seen', async () => {
    const before = await pkiSnapshot();
    const probe = `probe-${suffix}.orders.rotor.test`;
    const { serialNumber } = await issueBundle(probe);
    expect(await issuedSince(before, probe)).toEqual([serialNumber]);
    const victim = await issueBundle(`victim-${suffix}.orders.rotor.test`);
    await vaultFromEnv().write(`${stackPki.mount}/revoke`, {
      serial_number: victim.serialNumber,
    });
    expect(await revokedInVault(victim.serialNumber)).toBe(true);
  });
});

describe('under the same policy, what it allows', () => {
  it("rotates the team's own certificate and revokes only its old serial", async () => {
    const store = await awsTestStore(paymentsInitial, undefined, 'payments/');
    const out = await run(
      testPlaybook(store.store, {
        ...credential({}),
        canaries: [{ type: 'tls-handshake', name: 'handshake', serverName: ours }],
      }),
    );
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const now = parseCertificateBundle((await store.snapshot()).currentValue, 'now');
    const old = parseCertificateBundle(paymentsInitial, 'old');
    expect(now.cert.subject).toContain(`CN=${ours}`);
    expect(await onCrl([old.serialNumber, now.serialNumber, ordersSerial])).toEqual([old.serialNumber]);
  });
});
