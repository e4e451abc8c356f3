/**
 * Per-cluster delivery and dual-read verification (activities/kubernetes.ts) against the local
 * stack's real kube-apiservers, with values read from real stores (moto Secrets Manager for push,
 * Vault KV v2 and moto through External Secrets Operator for eso). Activities run in a
 * MockActivityEnvironment so heartbeats and cancellation behave as on a worker. Secret values are
 * only ever compared (`a === b`), never printed, so a failure cannot show one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PutSecretValueCommand, SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Secret } from '@kubernetes/client-node';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsBackend } from '../../adapters/aws';
import { fingerprinter } from '../../adapters/fingerprint';
import { keyring } from '../../adapters/keys';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { deliverPush, noNamespace } from '../../adapters/kubernetes/push';
import { versionValues } from '../../adapters/kubernetes/values';
import { clusterPlan } from '../../inspect/cluster-plan';
import { findUnlistedConsumers } from '../../inspect/unlisted-consumers';
import type { ClusterInput, ClusterReport, ClusterVersions, VersionRef } from '../../core/contracts';
import { vaultBackend } from '../../adapters/vault';
import { ports } from '../../dev/local-stack/config';
import { clusterStoreNotReady } from '../../dev/local-stack/eso/kube';
import type { ClusterTarget, Store } from '../../core/playbook/schema';
import { clusterSteps } from '../helpers/cluster-steps';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

const env = useStackEnv();
const kubeconfig = stackKubeconfig();
const fingerprints = fingerprinter(keyring([{ id: 'test', key: randomBytes(32) }]));
const fp = fingerprints.make;
const vault = vaultClient({
  endpoint: env['VAULT_ADDR'],
  token: env['VAULT_TOKEN'],
  requestOptions: { timeout: 10_000 },
});
const sm = new SecretsManagerClient({});
const backends = { vault: vaultBackend(vault), aws: awsBackend(sm) };
const readValue = (store: Store, version: string) =>
  store.type === 'vault' ? backends.vault.readValue(store, version) : backends.aws.readValue(store, version);
const kube = createKubeClients(kubeconfig);
const acts = clusterSteps(kube, { readValue, fingerprints });
const rotation = { workflowId: 'test-kubernetes-delivery', runId: randomUUID() };
const value = () => randomBytes(24).toString('base64url');
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Runs an activity as a worker would, collecting its heartbeat details. */
function activityEnv() {
  // Expected failures would otherwise be logged with stack traces by the mock's default logger.
  const ae = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  ae.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return { ae, heartbeats };
}
const deliverIn = (ae: MockActivityEnvironment, i: ClusterInput): Promise<void> =>
  ae.run((x: ClusterInput) => acts.deliverToCluster(x), i);
const verifyIn = (ae: MockActivityEnvironment, i: ClusterInput): Promise<ClusterReport> =>
  ae.run((x: ClusterInput) => acts.verifyCluster(x), i);
const deliver = (i: ClusterInput) => deliverIn(activityEnv().ae, i);
const verify = (i: ClusterInput) => verifyIn(activityEnv().ae, i);

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(e)}`);
  return e;
}

const decoded = (s: V1Secret, key: string) =>
  s.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8');

/** The store's two versions and their values (kept in the test only, for comparisons). */
interface TwoVersions {
  store: Store;
  v1: VersionRef;
  v2: VersionRef;
  values: Map<string, string>;
}

describe('push delivery', () => {
  const context = 'cluster-b';
  const kc = kubeconfigFor(context, kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  let namespace = '';
  let s: TwoVersions;
  const secretName = 'api-key';
  const cluster = (over: Partial<ClusterTarget> = {}): ClusterTarget => ({
    name: context,
    delivery: 'push',
    namespace,
    secretName,
    workloads: [{ kind: 'Deployment', name: 'api' }],
    timeout: 20_000,
    ...over,
  });
  const input = (current: VersionRef, other: VersionRef | null, over: Partial<ClusterTarget> = {}): ClusterInput => ({
    cluster: cluster(over),
    rotation,
    versions: { store: s.store, current, other, currentKey: 'value', otherKey: 'value-other' },
  });
  const read = () => core.readNamespacedSecret({ name: secretName, namespace });
  /** True when the Secret holds exactly these versions (compared, never printed). */
  const holds = async (current: VersionRef, other: VersionRef | null) => {
    const secret = await read();
    const keys = Object.keys(secret.data ?? {}).sort();
    return {
      keys,
      currentOk: decoded(secret, 'value') === s.values.get(current.version),
      otherOk: other ? decoded(secret, 'value-other') === s.values.get(other.version) : !keys.includes('value-other'),
      managedBy: secret.metadata?.labels?.['app.kubernetes.io/managed-by'],
    };
  };

  beforeAll(async () => {
    namespace = await freshNamespace(kc, 'rotor-push');
    const [a, b] = [value(), value()];
    const secretId = `rotor-test/${randomUUID()}`;
    const created = await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: a }));
    const put = await sm.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: b, VersionStages: ['AWSPENDING'] }),
    );
    const [id1, id2] = [created.VersionId ?? '', put.VersionId ?? ''];
    s = {
      store: { type: 'aws', secretId },
      v1: { version: id1, fingerprint: fp(a) },
      v2: { version: id2, fingerprint: fp(b) },
      values: new Map([
        [id1, a],
        [id2, b],
      ]),
    };
  });

  afterAll(async () => {
    if (namespace) await purgeNamespace(kc, namespace);
  });

  it('delivers current and other, and verify sees both fingerprints', async () => {
    await deliver(input(s.v1, s.v2));
    const { ae, heartbeats } = activityEnv();
    const report = await verifyIn(ae, input(s.v1, s.v2));
    expect(report).toMatchObject({
      cluster: context,
      observed: { value: s.v1.fingerprint, 'value-other': s.v2.fingerprint },
      rolledOutWorkloads: [],
      pendingRollouts: ['Deployment/api'],
    });
    // Without a rollout token (every step but promote) workloads are left alone and the report says so.
    expect(report.notes?.[0]).toBe('workloads not rolled out at this step (Deployment/api)');
    console.log(`push: verify converged after ${report.convergedAfterMs}ms`);
    expect(await holds(s.v1, s.v2)).toEqual({
      keys: ['value', 'value-other'],
      currentOk: true,
      otherOk: true,
      managedBy: 'rotor',
    });
    // Heartbeat details are value-free.
    const beats = JSON.stringify(heartbeats);
    expect(heartbeats.length).toBeGreaterThan(0);
    expect([...s.values.values()].some((v) => beats.includes(v))).toBe(false);
  });

  it('is idempotent: delivering the same versions again changes nothing', async () => {
    const before = (await read()).metadata?.resourceVersion;
    await deliver(input(s.v1, s.v2));
    expect((await read()).metadata?.resourceVersion).toBe(before);
  });

  it('swaps current and other (promotion)', async () => {
    await deliver(input(s.v2, s.v1));
    const report = await verify(input(s.v2, s.v1));
    expect(report.observed).toEqual({ value: s.v2.fingerprint, 'value-other': s.v1.fingerprint });
    expect(await holds(s.v2, s.v1)).toMatchObject({ currentOk: true, otherOk: true });
  });

  it('removes the other key (revoke)', async () => {
    await deliver(input(s.v2, null));
    const report = await verify(input(s.v2, null));
    expect(report.observed).toEqual({ value: s.v2.fingerprint });
    expect(await holds(s.v2, null)).toMatchObject({ keys: ['value'], currentOk: true, otherOk: true });
  });

  it("times out at the cluster's own timeout with ClusterNotConverged naming keys, not values, when a fingerprint differs", async () => {
    const started = Date.now();
    const wrong = { version: s.v2.version, fingerprint: 'hmac:000000000000000000000000' };
    const f = await failureOf(verify(input(wrong, s.v1, { timeout: 1500 })));
    const elapsed = Date.now() - started;
    expect(f.type).toBe('ClusterNotConverged');
    // The cluster's 1.5 s applied, not the 2 min default: the failure names it, and the wait lasted at
    // least that long. No "< N ms" upper bound: how long past its timer a loaded machine takes is
    // not what users rely on, and a fixed bound flakes on a busy 2-core runner.
    expect(f.message).toContain('did not converge within 2s');
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`cluster ${context}`);
    expect(f.message).toContain(`${namespace}/${secretName}`);
    expect(f.message).toContain(`value: does not match version ${s.v2.version}`);
    expect(f.message).toContain(`value-other: missing (expected version ${s.v1.version})`);
    expect([...s.values.values()].some((v) => f.message.includes(v))).toBe(false);
  });

  it('sees convergence as soon as it happens while waiting', async () => {
    // Events and ratios, not a fixed bound (a loaded 2-core machine stretches every wait): verify is
    // still waiting when the delivery starts, succeeds with the delivered versions after it, and
    // that takes a small fraction of its timeout, so the change ended the wait, not the clock.
    const timeout = 60_000;
    let settledAt: number | undefined;
    const waiting = verify(input(s.v1, s.v2, { timeout })).finally(() => (settledAt = Date.now()));
    await new Promise((r) => setTimeout(r, 500));
    expect(settledAt).toBeUndefined();
    const delivered = Date.now();
    await deliver(input(s.v1, s.v2));
    const report = await waiting;
    const sawAfter = (settledAt ?? Infinity) - delivered;
    console.log(
      `push: verify saw convergence ${sawAfter}ms after deliver started (verify waited ${report.convergedAfterMs}ms in all)`,
    );
    expect(report.observed).toEqual({ value: s.v1.fingerprint, 'value-other': s.v2.fingerprint });
    expect(sawAfter).toBeLessThan(timeout / 10);
  });

  it('undo returns the cluster to only the old version under currentKey', async () => {
    await deliver(input(s.v1, null));
    await verify(input(s.v1, null));
    expect(await holds(s.v1, null)).toMatchObject({ keys: ['value'], currentOk: true, otherOk: true });
  });

  it('removes an otherKey another field manager wrote', async () => {
    await core.patchNamespacedSecret(
      {
        name: secretName,
        namespace,
        body: { data: { 'value-other': Buffer.from('stray').toString('base64') } },
        fieldManager: 'kubectl-edit',
      },
      mergePatch,
    );
    await deliver(input(s.v1, null));
    expect((await holds(s.v1, null)).keys).toEqual(['value']);
  });

  it('honours cancellation while waiting', async () => {
    // Events and a ratio, not a fixed bound: the wait was still on when cancelled, ended cancelled
    // (not by its timeout: it fails ClusterNotConverged), and well within its timeout.
    const timeout = 60_000;
    const { ae } = activityEnv();
    let settled = false;
    const waiting = verifyIn(ae, input(s.v2, s.v1, { timeout })).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    const cancelled = Date.now();
    ae.cancel();
    await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - cancelled).toBeLessThan(timeout / 10);
  });

  it('refuses to deliver into a namespace that does not exist, saying what to do', async () => {
    const f = await failureOf(deliver(input(s.v1, null, { namespace: 'rotor-no-such-namespace' })));
    expect(f.type).toBe('DeliveryMisconfigured');
    expect(f.message).toMatch(/namespace rotor-no-such-namespace does not exist; create it/);
  });

  it('finds nothing to restore in a namespace that does not exist (the undo of a failed first delivery)', async () => {
    const where = input(s.v1, null, { namespace: 'rotor-no-such-namespace' });
    await expect(deliverPush(kube, versionValues({ readValue, fingerprints }), where, { restore: true })).resolves.toBe(
      noNamespace,
    );
    await expect(core.readNamespace({ name: 'rotor-no-such-namespace' })).rejects.toMatchObject({ code: 404 });
  });

  it('refuses a context the kubeconfig does not have', async () => {
    const f = await failureOf(deliver(input(s.v1, null, { context: 'cluster-z' })));
    expect(f.type).toBe('DeliveryMisconfigured');
    expect(f.message).toContain("no context 'cluster-z'");
  });

  it('observe mode writes nothing', async () => {
    const before = (await read()).metadata?.resourceVersion;
    await deliver(input(s.v2, s.v1, { delivery: 'observe' }));
    expect((await read()).metadata?.resourceVersion).toBe(before);
  });

  it('plans read-only: namespace, Secret key names, workloads', async () => {
    const plan = await clusterPlan(kube, { cluster: cluster() });
    expect(plan).toMatchObject({
      cluster: context,
      namespaceExists: true,
      secret: { name: secretName, exists: true, keys: ['value'], managedBy: 'rotor' },
      workloads: [{ kind: 'Deployment', name: 'api', found: false }],
    });
    expect(plan.problems).toContain(`Deployment ${namespace}/api does not exist`);
  });
});

/** Why ESO cannot serve `store` in `context` right now, or undefined when it can. */
async function esoUnavailable(context: string, store: 'vault' | 'aws'): Promise<string | undefined> {
  const health = `http://127.0.0.1:${ports.esoHealth[context as 'cluster-a']}/healthz`;
  const ok = await fetch(health, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
  if (!ok) return `ESO controller for ${context} does not answer ${health}`;
  const reason = await clusterStoreNotReady(kubeconfigFor(context, kubeconfig), store).catch((e: unknown) => String(e));
  return reason === undefined ? undefined : `ClusterSecretStore ${store}: ${reason}`;
}

const esoContext = 'cluster-a';
const vaultUnavailable = await esoUnavailable(esoContext, 'vault');
const awsUnavailable = await esoUnavailable(esoContext, 'aws');
/** A service that is down fails the tests that need it (never skips them), naming what to start. */
const requireEso = (why: string | undefined): void => {
  if (why) throw new Error(`${why} (run 'dev/stack up eso')`);
};

describe('eso delivery', () => {
  const kc = kubeconfigFor(esoContext, kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const es = { group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets' };
  let namespace = '';

  const externalSecret = (
    name: string,
    target: string,
    store: 'vault' | 'aws',
    data: unknown[],
    refreshInterval = '1h',
  ) => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: {
      refreshInterval,
      secretStoreRef: { kind: 'ClusterSecretStore', name: store },
      target: { name: target, creationPolicy: 'Owner' },
      data,
    },
  });
  const input = (secretName: string, versions: ClusterVersions, over: Partial<ClusterTarget> = {}): ClusterInput => ({
    cluster: { name: esoContext, delivery: 'eso', namespace, secretName, workloads: [], timeout: 45_000, ...over },
    rotation,
    versions,
  });
  const readSecret = (name: string) => core.readNamespacedSecret({ name, namespace });

  beforeAll(async () => {
    namespace = await freshNamespace(kc, 'rotor-eso');
  });

  afterAll(async () => {
    if (namespace) await purgeNamespace(kc, namespace);
  });

  describe('Vault KV v2', () => {
    beforeAll(() => requireEso(vaultUnavailable));
    const path = `rotor-test/eso-${randomUUID()}`;
    const store: Store = { type: 'vault', mount: 'secret', path, key: 'value' };
    const values = [value(), value()];
    const v1: VersionRef = { version: '1', fingerprint: fp(values[0] ?? '') };
    const v2: VersionRef = { version: '2', fingerprint: fp(values[1] ?? '') };
    const versions = (current: VersionRef, other: VersionRef | null): ClusterVersions => ({
      store,
      current,
      other,
      currentKey: 'value',
      otherKey: 'value-other',
    });

    beforeAll(async () => {
      // Two KV versions; `user` is a field the ExternalSecret maps too and rotor must leave alone.
      await vault.write(`secret/data/${path}`, { data: { value: values[0], user: 'svc-payments' } });
      await vault.write(`secret/data/${path}`, { data: { value: values[1], user: 'svc-payments' } });
      await custom.createNamespacedCustomObject({
        ...es,
        namespace,
        body: externalSecret('api-key', 'api-key', 'vault', [
          { secretKey: 'value', remoteRef: { key: path, property: 'value' } },
          { secretKey: 'username', remoteRef: { key: path, property: 'user' } },
        ]),
      });
    });

    afterAll(async () => {
      await vault.delete(`secret/metadata/${path}`).catch(() => undefined);
    });

    it('pins both keys to their KV versions and verify sees them synced', async () => {
      await deliver(input('api-key', versions(v1, v2)));
      const obj = (await custom.getNamespacedCustomObject({ ...es, namespace, name: 'api-key' })) as {
        metadata: { annotations?: Record<string, string> };
        spec: { data: { secretKey: string; remoteRef: Record<string, unknown> }[] };
      };
      const byKey = Object.fromEntries(obj.spec.data.map((d) => [d.secretKey, d.remoteRef]));
      expect(byKey['value']).toMatchObject({ key: `secret/${path}`, property: 'value', version: '1' });
      expect(byKey['value-other']).toMatchObject({ key: `secret/${path}`, property: 'value', version: '2' });
      expect(byKey['username']).toMatchObject({ key: path, property: 'user' });
      expect(byKey['username']?.['version']).toBeUndefined();
      expect(obj.metadata.annotations?.['force-sync']).toBeTruthy();

      const report = await verify(input('api-key', versions(v1, v2)));
      console.log(`eso/vault: deliver→synced in ${report.convergedAfterMs}ms`);
      expect(report.observed).toEqual({ value: v1.fingerprint, 'value-other': v2.fingerprint });
      expect(report.externalSecrets).toEqual(['api-key']);
      const secret = await readSecret('api-key');
      expect(Object.keys(secret.data ?? {}).sort()).toEqual(['username', 'value', 'value-other']);
      expect(decoded(secret, 'value') === values[0] && decoded(secret, 'value-other') === values[1]).toBe(true);
    });

    it('swaps, then revokes: ESO drops the other key', async () => {
      await deliver(input('api-key', versions(v2, v1)));
      expect((await verify(input('api-key', versions(v2, v1)))).observed).toEqual({
        value: v2.fingerprint,
        'value-other': v1.fingerprint,
      });
      await deliver(input('api-key', versions(v2, null)));
      const report = await verify(input('api-key', versions(v2, null)));
      expect(report.observed).toEqual({ value: v2.fingerprint });
      expect(Object.keys((await readSecret('api-key')).data ?? {}).sort()).toEqual(['username', 'value']);
    });

    it('undo: back to only the old version under currentKey', async () => {
      await deliver(input('api-key', versions(v1, null)));
      await verify(input('api-key', versions(v1, null)));
      const secret = await readSecret('api-key');
      expect(decoded(secret, 'value') === values[0]).toBe(true);
      expect(secret.data?.['value-other']).toBeUndefined();
    });

    it('a wrong expected fingerprint fails ClusterNotConverged, naming the ExternalSecret state too', async () => {
      const wrong = { version: '2', fingerprint: 'hmac:000000000000000000000000' };
      const f = await failureOf(verify(input('api-key', versions(wrong, null), { timeout: 1500 })));
      expect(f.type).toBe('ClusterNotConverged');
      expect(f.message).toContain('value: does not match version 2');
      expect(f.message).toContain('ExternalSecret api-key: Ready=True SecretSynced');
    });

    it('refuses refreshInterval 0 with a message saying ESO ignores force-sync and how to fix it', async () => {
      await custom.createNamespacedCustomObject({
        ...es,
        namespace,
        body: externalSecret(
          'frozen',
          'frozen',
          'vault',
          [{ secretKey: 'value', remoteRef: { key: path, property: 'value' } }],
          '0s',
        ),
      });
      const before = JSON.stringify(
        ((await custom.getNamespacedCustomObject({ ...es, namespace, name: 'frozen' })) as { spec: unknown }).spec,
      );
      const f = await failureOf(deliver(input('frozen', versions(v1, v2))));
      expect(f.type).toBe('DeliveryMisconfigured');
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toContain(`ExternalSecret ${namespace}/frozen has refreshInterval "0s"`);
      expect(f.message).toMatch(/ESO ignores force-sync/);
      expect(f.message).toMatch(/set spec.refreshInterval to a non-zero duration/);
      // Nothing was written.
      expect(
        JSON.stringify(
          ((await custom.getNamespacedCustomObject({ ...es, namespace, name: 'frozen' })) as { spec: unknown }).spec,
        ),
      ).toBe(before);
    });

    it('says so when no ExternalSecret feeds the Secret', async () => {
      const f = await failureOf(deliver(input('nobody-writes-this', versions(v1, null))));
      expect(f.type).toBe('DeliveryMisconfigured');
      expect(f.message).toMatch(/no ExternalSecret in namespace .* writes Secret 'nobody-writes-this'/);
    });

    it('plans: lists the ExternalSecret and its store', async () => {
      const plan = await clusterPlan(kube, { cluster: input('api-key', versions(v1, null)).cluster, store });
      expect(plan.externalSecrets).toEqual([
        expect.objectContaining({
          name: 'api-key',
          store: 'ClusterSecretStore/vault',
          refreshInterval: '1h0m0s',
          ready: 'True SecretSynced',
        }),
      ]);
      expect(plan.secret.keys).toEqual(['username', 'value']);
    });

    it('flags ExternalSecrets of the same Vault entry in clusters the playbook does not list', async () => {
      const res = await findUnlistedConsumers(kube, {
        store,
        listedClusters: [{ name: 'cluster-b' }, { name: 'cluster-c' }],
      });
      expect(res.unscanned).toEqual([]);
      expect(res.consumers.map((c) => `${c.context}/${c.namespace}/${c.externalSecret}`).sort()).toEqual([
        `${esoContext}/${namespace}/api-key`,
        `${esoContext}/${namespace}/frozen`,
      ]);
      const none = await findUnlistedConsumers(kube, { store, listedClusters: [{ name: esoContext }] });
      expect(none.consumers).toEqual([]);
    });
  });

  describe('AWS Secrets Manager', () => {
    beforeAll(() => requireEso(awsUnavailable));
    it('pins version ids as uuid/<VersionId> and verify sees both synced', async () => {
      const [a, b] = [value(), value()];
      const secretId = `rotor-test/eso-${randomUUID()}`;
      const created = await sm.send(
        new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify({ token: a }) }),
      );
      const put = await sm.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: JSON.stringify({ token: b }),
          VersionStages: ['AWSPENDING'],
        }),
      );
      const store: Store = { type: 'aws', secretId, key: 'token' };
      await custom.createNamespacedCustomObject({
        ...es,
        namespace,
        body: externalSecret('aws-token', 'aws-token', 'aws', [
          { secretKey: 'token', remoteRef: { key: secretId, property: 'token' } },
        ]),
      });
      const versions: ClusterVersions = {
        store,
        current: { version: created.VersionId ?? '', fingerprint: fp(a) },
        other: { version: put.VersionId ?? '', fingerprint: fp(b) },
        currentKey: 'token',
        otherKey: 'token-next',
      };
      await deliver(input('aws-token', versions, { externalSecrets: ['aws-token'] }));
      const obj = (await custom.getNamespacedCustomObject({ ...es, namespace, name: 'aws-token' })) as {
        spec: { data: { secretKey: string; remoteRef: Record<string, unknown> }[] };
      };
      expect(obj.spec.data.find((d) => d.secretKey === 'token-next')?.remoteRef).toMatchObject({
        key: secretId,
        property: 'token',
        version: `uuid/${put.VersionId}`,
      });
      const report = await verify(input('aws-token', versions, { externalSecrets: ['aws-token'] }));
      console.log(`eso/aws: deliver→synced in ${report.convergedAfterMs}ms`);
      expect(report.observed).toEqual({ token: fp(a), 'token-next': fp(b) });
    });
  });
});
