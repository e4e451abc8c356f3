/**
 * CA rollover (`vault-pki-ca-rollover`) through the whole workflow against the stack's Vault (PKI
 * mount `pki-rollover`, issuers made inside Vault), Secrets Manager (moto) and the apiservers of
 * cluster-a and cluster-b (push delivery, trust-bundle ConfigMaps): a rollover whose old CA still
 * has a leaf served from a kubernetes.io/tls Secret needs attention naming it and drops nothing
 * until the leaf is replaced by one of the new default issuer and revoked; then the old CA leaves
 * every bundle, proven by reading each back and by Vault refusing a leaf from the old issuer.
 * Rollbacks at the canary, at the consumer gate (a real pod that never reads the new CA) and
 * after injected failures right after create and promote leave every bundle, the mount's issuers
 * and default, and the store exactly as before. Pods that mount only the bundle ConfigMap are
 * gated too: one that never reads the new CA holds promote (rolled back), one that reads it is
 * touched and reports both CAs before promote. A store holding another tenant's CA is refused
 * before anything changes.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import vaultClient from 'node-vault';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rotateAsGeneratedIdentity } from '../helpers/rbac-identity';
import { bundleCerts, parseCaCert } from '../../adapters/credentials/vault-pki-ca-pem';
import { ensureVaultPkiCaMount } from '../../adapters/credentials/vault-pki-ca-setup';
import { pkiMount } from '../../adapters/credentials/vault-pki-ca-vault';
import { ErrorTypes, RetryableErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { retrySignal, statusQuery } from '../../workflows/definitions';
import { bundleReader, readsLog, runningPodOf, volumeConsumer, waitRunning } from '../helpers/consumers';
import { faultSwitch } from '../helpers/faults';
import { recordRotation } from '../helpers/history-recorder';
import { kubeconfigFor, secretData, stackKubeconfig } from '../helpers/kube';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { testPlaybook } from '../helpers/playbooks';
import { everythingRecorded, useFleetWorker } from '../helpers/recorded-rotation';
import { expectRolledBack } from '../helpers/rolled-back';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, waitForPhase } from '../helpers/worker';

const env = useStackEnv();
const vault = vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
const mount = 'pki-rollover';
const role = 'rotor-leaf';
const pki = pkiMount(vault, mount);
const contexts = ['cluster-a', 'cluster-b'] as const;
const kcs = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c)])) as Record<string, KubeConfig>;
const core = (context: string) => kcs[context]!.makeApiClient(CoreV1Api);
const namespaces: Record<string, string> = {};
const faults = faultSwitch(RetryableErrorTypes.vault);

/** One case: a fresh issuer prefix whose initial root is the mount's default, its store and bundles. */
interface Case {
  prefix: string;
  initial: string;
  initialId: string;
  ts: TestStore;
  configMap: string;
}

async function setUp(tag: string, o: { secret?: boolean } = {}): Promise<Case> {
  const prefix = `t${randomBytes(3).toString('hex')}`;
  const name = `${prefix}-initial`;
  await pki.generateRoot({ name, commonName: `${prefix} initial CA`, keyType: 'ec', ttlSeconds: 30 * 86_400 });
  const initialId = (await pki.issuerNamed(name))!.id;
  await pki.setDefault(initialId);
  const initial = `${parseCaCert(await pki.certificateOf(initialId), 'initial').pem}\n`;
  const ts = await awsTestStore(initial);
  const configMap = `bundle-${tag}-${prefix}`;
  for (const c of contexts) {
    const namespace = namespaces[c]!;
    await core(c).createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: configMap }, data: { 'ca.crt': initial } },
    });
    if (o.secret)
      await core(c).createNamespacedSecret({
        namespace,
        body: { metadata: { name: `ca-${prefix}` }, stringData: { value: initial } },
      });
  }
  return { prefix, initial, initialId, ts, configMap };
}

function spec(k: Case, o: { canaryConfigMap?: string; gate?: string } = {}): Partial<PlaybookInput['spec']> {
  return {
    credential: {
      kind: 'vault-pki-ca-rollover',
      mount,
      issuerPrefix: k.prefix,
      commonName: `${k.prefix} next CA`,
      ttl: '720h',
      leafRole: role,
      bundle: { configMap: k.configMap },
    },
    clusters: contexts.map((c) => ({
      name: c,
      delivery: 'push',
      namespace: namespaces[c]!,
      secretName: `ca-${k.prefix}`,
    })),
    canaries: [
      {
        type: 'vault-pki-handshake',
        name: 'handshake-b',
        mount,
        role,
        cluster: 'cluster-b',
        namespace: namespaces['cluster-b']!,
        configMap: o.canaryConfigMap ?? k.configMap,
      },
    ],
    timeouts: { gate: o.gate ?? '30s' },
    consumerGate: { settle: '1s' },
  };
}

/** What a rollback must leave as it was: every bundle, the prefix's issuers, the default, the store. */
async function worldOf(k: Case) {
  const bundles = await Promise.all(
    contexts.map(
      async (c) => (await core(c).readNamespacedConfigMap({ name: k.configMap, namespace: namespaces[c]! })).data,
    ),
  );
  const issuers = (await pki.issuers()).filter((i) => i.name.startsWith(`${k.prefix}-`)).map((i) => i.name);
  // The private keys too: undoing create deletes the new issuer's key, not only the issuer.
  const keyInfo = (
    (await vault.list(`${mount}/keys`)) as { data: { key_info?: Record<string, { key_name?: string }> } }
  ).data.key_info;
  const keys = Object.values(keyInfo ?? {})
    .map((x) => x.key_name ?? '')
    .filter((n) => n.startsWith(`${k.prefix}-`));
  const snap = await k.ts.snapshot();
  return {
    bundles,
    issuers,
    keys,
    defaultIsInitial: (await pki.defaultIssuer()) === k.initialId,
    initialUsage: await pki.usageOf(k.initialId),
    storeCurrentIsInitial: snap.currentValue === k.initial,
    pending: snap.pendingVersion,
  };
}

const fingerprintsIn = async (k: Case) =>
  Promise.all(
    contexts.map(async (c) =>
      bundleCerts(
        (await core(c).readNamespacedConfigMap({ name: k.configMap, namespace: namespaces[c]! })).data?.['ca.crt'],
      ).map((x) => x.fingerprint),
    ),
  );

describe('CA rollover in Vault PKI through the workflow', () => {
  const worker = useFleetWorker({
    kcs,
    namespaces,
    label: 'pki-ca',
    faults,
    prepare: () => ensureVaultPkiCaMount(vault, mount, role),
  });

  it('a leaf of the old CA still served blocks the drop (needs attention naming it); replaced and revoked, the old CA leaves every bundle, proven', async () => {
    const k = await setUp('full');
    const initial = parseCaCert(k.initial, 'initial');
    // A server's certificate from the old CA, in a kubernetes.io/tls Secret of cluster-a (and in Vault's store).
    const old = (await vault.write(`${mount}/issuer/${k.initialId}/issue/${role}`, {
      common_name: 'web.internal',
      ttl: '2h',
    })) as {
      data: { certificate: string; private_key: string; serial_number: string };
    };
    const nsA = namespaces['cluster-a']!;
    const tlsSecret = (cert: string, key: string) => ({
      metadata: { name: 'web-tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': cert, 'tls.key': key },
    });
    await core('cluster-a').createNamespacedSecret({
      namespace: nsA,
      body: tlsSecret(old.data.certificate, old.data.private_key),
    });
    const playbook = testPlaybook(k.ts.store, spec(k));

    const { out, status, recorded, blocked } = await worker().run(async () => {
      const h = await startRotation(worker(), playbook);
      await waitForPhase(h, 'needs-attention');
      const held = await h.query<RotationStatus>(statusQuery);
      const blocked = {
        // No cluster dropped the old CA either: the check runs before the clusters' revoke step.
        secretKeys: Object.keys(await secretData(kcs['cluster-a']!, nsA, `ca-${k.prefix}`)).sort(),
        attention: held.attention ?? '',
        fingerprints: await fingerprintsIn(k),
        usage: await pki.usageOf(k.initialId),
      };
      // The operator replaces the leaf with one of the new default issuer and revokes the old one.
      const fresh = (await vault.write(`${mount}/issue/${role}`, { common_name: 'web.internal', ttl: '2h' })) as {
        data: { certificate: string; private_key: string };
      };
      blocked.fingerprints.push([String(new X509Certificate(fresh.data.certificate).checkIssued(initial.x509))]);
      await core('cluster-a').replaceNamespacedSecret({
        name: 'web-tls',
        namespace: nsA,
        body: tlsSecret(fresh.data.certificate, fresh.data.private_key),
      });
      await vault.write(`${mount}/revoke`, { serial_number: old.data.serial_number });
      await h.signal(retrySignal, { by: 'oncall' });
      const out = await outcomeOf(h);
      await recordRotation(h, 'vault-pki-ca-rollover-success', k.ts);
      return {
        out,
        status: await h.query<RotationStatus>(statusQuery),
        recorded: await everythingRecorded(h),
        blocked,
      };
    });
    // Held: the Secret and the Vault serial named, both CAs still in every bundle, the old issuer still issuing.
    expect(blocked.attention).toContain(
      `nothing was revoked: the old CA ${initial.fingerprint} still has 2 unexpired leaf`,
    );
    expect(blocked.attention).toContain(`Secret ${nsA}/web-tls in cluster cluster-a`);
    expect(blocked.attention).toContain(`vault ${mount} serial ${old.data.serial_number}`);
    const next = parseCaCert((await k.ts.snapshot()).currentValue, 'current');
    expect(blocked.fingerprints).toEqual([
      [initial.fingerprint, next.fingerprint],
      [initial.fingerprint, next.fingerprint],
      ['false'], // the replacement leaf came from the new default issuer, not the old CA
    ]);
    expect(blocked.usage).toContain('issuing-certificates');
    expect(blocked.secretKeys).toEqual(['value', 'value-other']);

    expect(out.ok ? undefined : out.error).toBeUndefined();
    expect(status.canaries.map((c) => c.ok)).toEqual([true]);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain(
      `old CA ${initial.fingerprint} absent, current CA ${next.fingerprint} present`,
    );
    expect(status.revocation?.detail).toMatch(/was refused \(HTTP \d+: .*issuing-certificates/);
    // Read back here too: only the new CA in every bundle, the new issuer the default, the old one refusing.
    expect(await fingerprintsIn(k)).toEqual([[next.fingerprint], [next.fingerprint]]);
    expect((await pki.issuerOf(next))?.isDefault).toBe(true);
    expect(await pki.usageOf(k.initialId)).not.toContain('issuing-certificates');
    const refused = await pki.issueFrom(k.initialId, role, 'localhost', '1m');
    expect(refused.ok).toBe(false);
    // No private key in Temporal: the CA keys never left Vault, the canary's leaf key stayed in memory.
    expect(recorded).not.toMatch(/PRIVATE KEY/);
    expect(recorded).toContain(next.fingerprint);
  });

  it('rotates as exactly the Kubernetes identity `rotor rbac` prints (bundle ConfigMaps and the TLS-Secret check included)', async () => {
    const k = await setUp('rbac');
    const playbook = testPlaybook(k.ts.store, spec(k));
    expect(await rotateAsGeneratedIdentity(playbook)).toBeUndefined();
    const next = parseCaCert((await k.ts.snapshot()).currentValue, 'current');
    expect(await fingerprintsIn(k)).toEqual([[next.fingerprint], [next.fingerprint]]);
  });

  it('a failing handshake canary (a bundle without the new CA) rolls back: bundles, issuers, default and store as before', async () => {
    const k = await setUp('canary');
    const elsewhere = `bundle-old-${k.prefix}`;
    await core('cluster-b').createNamespacedConfigMap({
      namespace: namespaces['cluster-b']!,
      body: { metadata: { name: elsewhere }, data: { 'ca.crt': k.initial } },
    });
    const before = await worldOf(k);
    const run = await worker().run(async () => {
      const h = await startRotation(worker(), testPlaybook(k.ts.store, spec(k, { canaryConfigMap: elsewhere })));
      return { out: await outcomeOf(h), status: await h.query<RotationStatus>(statusQuery) };
    });
    const why = expectRolledBack(run, 'CanaryFailed');
    expect(why?.message).toContain(`canary 'handshake-b' failed: the new CA sha256:`);
    expect(why?.message).toContain(`is not in configmap ${namespaces['cluster-b']}/${elsewhere} key ca.crt`);
    expect(await worldOf(k)).toEqual(before);
  });

  it.each([
    { step: 'create' as const, undo: 'the new issuer and its key are deleted, every bundle restored' },
    { step: 'promote' as const, undo: 'the old issuer is the default again, the new one deleted' },
  ])('a failure injected right after $step rolls back: $undo', async ({ step }) => {
    const k = await setUp(step);
    const before = await worldOf(k);
    faults.state.fault = step;
    try {
      const run = await worker().run(async () => {
        const h = await startRotation(worker(), testPlaybook(k.ts.store, spec(k)));
        const out = await outcomeOf(h);
        // Rolled back after the bundles were published and the new issuer made the default.
        if (step === 'promote') await recordRotation(h, 'vault-pki-ca-rollover-rolled-back', k.ts);
        return { out, status: await h.query<RotationStatus>(statusQuery) };
      });
      expectRolledBack(run, 'InjectedFault');
    } finally {
      faults.state.fault = 'none';
    }
    expect(await worldOf(k)).toEqual(before);
  });

  it('a failure right after revoke (past the point of no return) retries: the old CA already gone, proven again', async () => {
    const k = await setUp('revoke');
    faults.state.fault = 'revoke-once';
    const { out, status } = await worker().run(async () => {
      const h = await startRotation(worker(), testPlaybook(k.ts.store, spec(k)));
      return { out: await outcomeOf(h), status: await h.query<RotationStatus>(statusQuery) };
    });
    expect(faults.state.fault).toBe('none');
    expect(out.ok ? undefined : out.error).toBeUndefined();
    expect(status.revocation?.rejected).toBe(true);
    const next = parseCaCert((await k.ts.snapshot()).currentValue, 'current');
    expect(await fingerprintsIn(k)).toEqual([[next.fingerprint], [next.fingerprint]]);
    expect(await pki.usageOf(k.initialId)).not.toContain('issuing-certificates');
  });

  it('a consumer pod that never reads the new CA holds the promote gate: rolled back before promote, everything as before', async () => {
    const k = await setUp('gate', { secret: true });
    const apps = kcs['cluster-b']!.makeApiClient(AppsV1Api);
    const nsB = namespaces['cluster-b']!;
    // Loaded both keys at startup: it never reads the new CA beside the old one.
    await apps.createNamespacedDeployment({
      namespace: nsB,
      body: volumeConsumer(`frozen-${k.prefix}`, `ca-${k.prefix}`, true, ['value', 'value-other']),
    });
    await waitRunning(core('cluster-b'), nsB, [`frozen-${k.prefix}`]);
    const before = await worldOf(k);
    const secrets = () => Promise.all(contexts.map((c) => secretData(kcs[c]!, namespaces[c]!, `ca-${k.prefix}`)));
    const secretsBefore = await secrets();
    const run = await worker().run(async () => {
      const h = await startRotation(worker(), testPlaybook(k.ts.store, spec(k, { gate: '15s' })));
      return { out: await outcomeOf(h), status: await h.query<RotationStatus>(statusQuery) };
    });
    const why = expectRolledBack(run, 'ConsumerGateFailed');
    expect(why?.message).toMatch(/^promote gate failed in 1 of 2 cluster\(s\): cluster cluster-b/);
    expect(run.status.stages.find((s) => s.name === 'promote')?.state ?? 'pending').toBe('pending');
    expect(await worldOf(k)).toEqual(before);
    // Undo of distribute: each cluster's Secret holds the old CA alone again.
    expect(await secrets()).toEqual(secretsBefore);
  });

  it('a pod that mounts only the trust-bundle ConfigMap and never reads the new CA holds the promote gate: rolled back, everything as before', async () => {
    const k = await setUp('cm-stale');
    const nsB = namespaces['cluster-b']!;
    const app = `stale-${k.prefix}`;
    // No Secret mounted: a client that loaded the bundle's CAs at startup and never reads it again.
    const body = bundleReader(app, k.configMap, 'ca.crt', [parseCaCert(k.initial, 'initial').fingerprint]);
    await kcs['cluster-b']!.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: nsB, body });
    await waitRunning(core('cluster-b'), nsB, [app]);
    // `rotor plan` names the reader the gate will wait for, and what each bundle trusts now.
    const plan = renderBlastRadius(await blastRadius(testPlaybook(k.ts.store, spec(k)), stackKubeconfig()));
    const readerPod = (await runningPodOf(core('cluster-b'), nsB, app)).metadata?.name ?? '';
    expect(plan).toContain(`  reader pod ${readerPod} mounts the trust bundle; reports what it read (container`);
    const initialFp = parseCaCert(k.initial, 'initial').fingerprint;
    for (const c of ['cluster-a', 'cluster-b'])
      expect(plan).toContain(
        `trust bundle configmap ${namespaces[c]}/${k.configMap} key ca.crt in cluster ${c}: trusts CAs [${initialFp}]; the new CA is added beside them`,
      );
    const before = await worldOf(k);
    const run = await worker().run(async () => {
      const h = await startRotation(worker(), testPlaybook(k.ts.store, spec(k, { gate: '15s' })));
      return { out: await outcomeOf(h), status: await h.query<RotationStatus>(statusQuery) };
    });
    const why = expectRolledBack(run, 'ConsumerGateFailed');
    expect(why?.message).toMatch(/^promote gate failed in 1 of 2 cluster\(s\): cluster cluster-b/);
    expect(why?.message).toMatch(
      new RegExp(`${app}-[\\w-]+ \\(trust-bundle reader\\): ca\\.crt does not hold CA sha256:`),
    );
    expect(run.status.stages.find((s) => s.name === 'promote')?.state ?? 'pending').toBe('pending');
    expect(await worldOf(k)).toEqual(before);
  });

  it('a pod that mounts only the trust-bundle ConfigMap is touched and waited for: it reads the new CA beside the old one before promote', async () => {
    const k = await setUp('cm-live');
    const nsA = namespaces['cluster-a']!;
    const app = `reader-${k.prefix}`;
    await kcs['cluster-a']!.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: nsA,
      body: bundleReader(app, k.configMap, 'ca.crt'),
    });
    await waitRunning(core('cluster-a'), nsA, [app]);
    const { out, status } = await worker().run(async () => {
      const h = await startRotation(worker(), testPlaybook(k.ts.store, spec(k)));
      const out = await outcomeOf(h);
      await recordRotation(h, 'vault-pki-ca-rollover-bundle-reader', k.ts);
      return { out, status: await h.query<RotationStatus>(statusQuery) };
    });
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const [old, next] = [k.initial, (await k.ts.snapshot()).currentValue].map((v) => parseCaCert(v, 'ca').fingerprint);
    const stage = (n: string) => status.stages.find((s) => s.name === n)?.startedAt ?? 0;
    const [createAt, promoteAt] = [stage('create'), stage('promote')];
    expect(promoteAt).toBeGreaterThan(createAt);
    const lines = await readsLog(core('cluster-a'), nsA, await runningPodOf(core('cluster-a'), nsA, app));
    const held = lines.map((l) => ({ at: l.at, fps: (l.reads.get('ca.crt') ?? '').split(',').filter(Boolean) }));
    // Before create the old CA alone; before promote (far below the kubelet's 1 m sync period, so
    // only the gate's touch made it copy the ConfigMap) the new one beside it.
    expect(held.filter((l) => l.at < createAt).at(-1)?.fps).toEqual([old]);
    expect(held.filter((l) => l.at < promoteAt).at(-1)?.fps).toEqual([old, next]);
    expect(promoteAt - createAt).toBeLessThan(45_000);
    expect(status.clusters.find((c) => c.name === 'cluster-a')?.gate).toMatch(/^revoke gate ✔ [\d.]+s: 1 reported$/);
  });

  it("a store holding a CA whose issuer lacks the playbook's prefix (another tenant's) is refused at create, nothing changed", async () => {
    const k = await setUp('foreign');
    const other = await setUp('victim');
    // The attacker's store names the victim's CA; the playbook (admitted for its own prefix) points at it.
    const crafted: Case = { ...k, ts: await awsTestStore(other.initial) };
    const victimBefore = await worldOf(other);
    const mineBefore = await worldOf(k);
    const run = await worker().run(async () => {
      const h = await startRotation(worker(), testPlaybook(crafted.ts.store, spec(k)));
      return { out: await outcomeOf(h), status: await h.query<RotationStatus>(statusQuery) };
    });
    const why = expectRolledBack(run, ErrorTypes.invalidInput);
    expect(why?.message).toContain(`whose name does not start with '${k.prefix}-'`);
    expect(await worldOf(other)).toEqual(victimBefore);
    expect(await worldOf(k)).toEqual(mineBefore);
  });
});
