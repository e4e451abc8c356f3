/**
 * TLS leaf certificates (vault-pki-certificate) through the whole workflow, against the stack's
 * Vault PKI, Secrets Manager (moto) and the stack's apiservers (push delivery): a rotation leaves
 * every cluster's kubernetes.io/tls Secret serving the new certificate, the old serial revoked and
 * on the CRL (read back here, signature checked) and no private key in Temporal; a failing
 * tls-handshake canary, a failure injected right after create or promote and a consumer that never
 * reads the new version (a real pod, promote gate) roll back: every Secret serves the old
 * certificate again, the new serial is revoked, the old one is not; a failure right after revoke
 * retries into the same proof.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { parseCertificateBundle, tlsSecretData } from '../../adapters/credentials/vault-pki-value';
import { RetryableErrorTypes, WorkflowErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { volumeConsumer, waitRunning } from '../helpers/consumers';
import { faultSwitch } from '../helpers/faults';
import { freshNamespace, kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { ensurePki, issueBundle, issuedSince, onCrl, pkiSnapshot, revokedInVault, stackPki } from '../helpers/pki';
import { rotateRecorded, useFleetWorker } from '../helpers/recorded-rotation';
import { expectRolledBack } from '../helpers/rolled-back';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

useStackEnv();
const contexts = ['cluster-a', 'cluster-b'] as const;
const kcs = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c)])) as Record<string, KubeConfig>;
const namespaces: Record<string, string> = {};
const secretName = 'web-tls';

/** Faults injected right after real steps (test/helpers/faults.ts). */
const faults = faultSwitch(RetryableErrorTypes.vault);

async function setUp() {
  const commonName = `web-${randomBytes(4).toString('hex')}.${stackPki.leafDomain}`;
  const initial = JSON.stringify(await issueBundle(commonName));
  return {
    commonName,
    initial,
    serial: parseCertificateBundle(initial, 'initial').serialNumber,
    ts: await awsTestStore(initial),
  };
}
type Setup = Awaited<ReturnType<typeof setUp>>;

function spec(
  k: Setup,
  o: { serverName?: string; clusters?: PlaybookInput['spec']['clusters'] } = {},
): Partial<PlaybookInput['spec']> {
  return {
    credential: { kind: 'vault-pki-certificate', role: stackPki.leafRole, commonName: k.commonName, ttl: '1h' },
    clusters:
      o.clusters ??
      contexts.map((c) => ({ name: c, delivery: 'push' as const, namespace: namespaces[c]!, secretName })),
    canaries: [{ type: 'tls-handshake', name: 'handshake', serverName: o.serverName ?? k.commonName }],
    timeouts: { gate: '30s' },
    consumerGate: { settle: '1s' },
  };
}

/** Whether the cluster's Secret is a kubernetes.io/tls Secret serving exactly `value` (and no other version). */
async function serves(kc: KubeConfig, namespace: string, value: string): Promise<boolean> {
  const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: secretName, namespace });
  const data = await secretData(kc, namespace, secretName);
  const want = tlsSecretData(parseCertificateBundle(value, 'value'));
  return (
    s.type === 'kubernetes.io/tls' &&
    data['value'] === value &&
    data['value-other'] === undefined &&
    (['tls.crt', 'tls.key', 'ca.crt'] as const).every((key) => data[key] === want[key])
  );
}

/** Rolled back: the old certificate current and served, the new one revoked and on the CRL, the old one not. */
async function expectOldServed(k: Setup, where: [KubeConfig, string][]): Promise<void> {
  const snap = await k.ts.snapshot();
  expect(snap.currentValue === k.initial).toBe(true);
  expect(snap.pendingVersion).toBeNull();
  for (const [kc, ns] of where) expect(await serves(kc, ns, k.initial)).toBe(true);
  expect(await revokedInVault(k.serial)).toBe(false);
}

/** Rolls back through `run` and checks the certificates Vault issued for it meanwhile: exactly one, revoked. */
async function expectNewRevoked(k: Setup, before: { certs: string[] }): Promise<void> {
  const issued = await issuedSince(before, k.commonName);
  expect(issued.length).toBe(1);
  expect(await revokedInVault(issued[0]!)).toBe(true);
  expect(await onCrl([k.serial, ...issued])).toEqual(issued);
}

describe('rotation of a TLS leaf certificate through the workflow', () => {
  const worker = useFleetWorker({ kcs, namespaces, label: 'pki-wf', faults, prepare: ensurePki });

  it('rotates: every cluster serves the new certificate as kubernetes.io/tls, the old serial is on the CRL, no key in Temporal', async () => {
    const k = await setUp();
    const { out, status, recorded } = await rotateRecorded(worker(), spec(k), k.ts, 'vault-pki-certificate-success');
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const now = (await k.ts.snapshot()).currentValue;
    const next = parseCertificateBundle(now, 'now');
    expect(next.serialNumber).not.toBe(k.serial);
    for (const c of contexts) expect(await serves(kcs[c]!, namespaces[c]!, now)).toBe(true);
    expect(status.canaries.map((c) => c.ok)).toEqual([true]);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain(`lists serial ${k.serial} revoked at`);
    expect(await onCrl([k.serial, next.serialNumber])).toEqual([k.serial]);
    // Neither private key in Temporal; the serials (public) are there.
    const oldKey = parseCertificateBundle(k.initial, 'initial').privateKey;
    expect(recorded.includes(oldKey) || recorded.includes(next.privateKey)).toBe(false);
    expect(recorded).toContain(k.serial);
  });

  it('a failing tls-handshake canary (a name the certificate lacks) rolls back: the new serial revoked, the old one served', async () => {
    const k = await setUp();
    const before = await pkiSnapshot();
    const run = await rotateRecorded(
      worker(),
      spec(k, { serverName: `elsewhere.${stackPki.leafDomain}` }),
      k.ts,
      'vault-pki-certificate-rolled-back',
    );
    const why = expectRolledBack(run, 'CanaryFailed');
    expect(why?.message).toContain(`TLS handshake as elsewhere.${stackPki.leafDomain}`);
    await expectOldServed(
      k,
      contexts.map((c) => [kcs[c]!, namespaces[c]!]),
    );
    await expectNewRevoked(k, before);
  });

  it('a failure injected right after create rolls back: the certificate create issued is revoked although create never answered', async () => {
    const k = await setUp();
    const before = await pkiSnapshot();
    faults.state.fault = 'create';
    try {
      expectRolledBack(await rotateRecorded(worker(), spec(k), k.ts), 'InjectedFault');
    } finally {
      faults.state.fault = 'none';
    }
    // Nothing reached the clusters before the fault.
    await expectOldServed(k, []);
    await expectNewRevoked(k, before);
  });

  it('a failure injected right after promote rolls back: the store demoted, every cluster serving the old certificate, the new one revoked', async () => {
    const k = await setUp();
    const before = await pkiSnapshot();
    faults.state.fault = 'promote';
    try {
      expectRolledBack(await rotateRecorded(worker(), spec(k), k.ts), 'InjectedFault');
    } finally {
      faults.state.fault = 'none';
    }
    await expectOldServed(
      k,
      contexts.map((c) => [kcs[c]!, namespaces[c]!]),
    );
    await expectNewRevoked(k, before);
  });

  it('a failure right after revoke (past the point of no return) retries: the old serial is already revoked, proven on the CRL again', async () => {
    const k = await setUp();
    faults.state.fault = 'revoke-once';
    const { out, status } = await rotateRecorded(worker(), spec(k), k.ts);
    expect(faults.state.fault).toBe('none');
    expect(out.ok ? undefined : out.error).toBeUndefined();
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain(`serial ${k.serial}`);
    expect(status.revocation?.detail).toContain('already revoked');
    const now = parseCertificateBundle((await k.ts.snapshot()).currentValue, 'now');
    expect(await onCrl([k.serial, now.serialNumber])).toEqual([k.serial]);
  });
});

describe('rollback at the consumer gate (a real pod that never reads the new version)', () => {
  const kc = () => kubeconfigFor('cluster-a');
  let namespace: string;
  let tw: TestWorker;
  let k: Setup;

  beforeAll(async () => {
    await ensurePki();
    const core = kc().makeApiClient(CoreV1Api);
    k = await setUp();
    namespace = await freshNamespace(kc(), 'pki-gate');
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: secretName },
        type: 'kubernetes.io/tls',
        stringData: { value: k.initial, ...tlsSecretData(parseCertificateBundle(k.initial, 'initial')) },
      },
    });
    // Loaded both keys at startup: it never reads the new certificate beside the old one.
    await kc()
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({
        namespace,
        body: volumeConsumer('frozen', secretName, true, ['value', 'value-other']),
      });
    await waitRunning(core, namespace, ['frozen']);
    tw = await startTestWorker(createActivities(depsFromEnv()));
  }, 180_000);

  afterAll(async () => {
    await tw?.close();
    await purgeNamespace(kc(), namespace).catch(() => undefined);
  }, 120_000);

  it('the promote gate fails and the run rolls back: the Secret serves the old certificate, the new serial is revoked', async () => {
    const clusters = [{ name: 'cluster-a', delivery: 'push' as const, namespace, secretName, workloads: [] }];
    const before = await pkiSnapshot();
    const run = await rotateRecorded(
      tw,
      { ...spec(k, { clusters }), timeouts: { gate: '15s' }, consumerGate: { settle: '3s' } },
      k.ts,
    );
    expectRolledBack(run, WorkflowErrorTypes.consumerGateFailed);
    await expectOldServed(k, [[kc(), namespace]]);
    await expectNewRevoked(k, before);
  });
});
