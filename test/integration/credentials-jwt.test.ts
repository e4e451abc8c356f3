/**
 * The jwt-signing-key kind against the stack's three apiservers (cluster-a/b/c): create publishes
 * the new public key beside the current one in every cluster's JWKS ConfigMap (made when missing,
 * keys rotor did not write kept), the jwt-verify canary verifies a token through one cluster's
 * published JWKS, revoke removes the old key and proves it by reading every JWKS back, discard
 * removes the new key; each is idempotent. ConfigMaps are read back through the apiservers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { generateSigningJwk, parsePrivateJwk, publicOf } from '../../adapters/credentials/jwk';
import type { PrivateJwk } from '../../adapters/credentials/jwk';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { ErrorTypes } from '../../core/failures';
import { canarySchema, playbookSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

type JwtPolicy = Extract<Credential, { kind: 'jwt-signing-key' }>;

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const kcs = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c)])) as Record<string, KubeConfig>;
const core = (context: string) => kcs[context]!.makeApiClient(CoreV1Api);
const kind = createCredentialKinds({ ...credentialDepsFromEnv(), kube: () => kube })['jwt-signing-key'];
const kube = createKubeClients(stackKubeconfig());
const rotation = { workflowId: 'credentials-jwt-test', runId: randomUUID() };
const configMap = `jwks-${randomBytes(3).toString('hex')}`;
/** One namespace per cluster, made fresh for this file. */
const namespaces: Record<string, string> = {};
const signal = new AbortController().signal;

/** The credential as rotor reads it from a playbook over one push cluster per context. */
function policy(algorithm: 'EdDSA' | 'ES256' = 'EdDSA', only: readonly string[] = contexts): JwtPolicy {
  return playbook(algorithm, only).spec.credential as JwtPolicy;
}

/** A playbook over one push cluster per context, as rotor reads it. */
function playbook(algorithm: 'EdDSA' | 'ES256' = 'EdDSA', only: readonly string[] = contexts) {
  return playbookSchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name: 'jwt' },
    spec: {
      secret: { name: 'jwt', store: { type: 'vault', path: 'apps/jwt' } },
      credential: { kind: 'jwt-signing-key', algorithm, maxTokenLifetime: '5m', jwks: { configMap } },
      soak: '5m',
      clusters: only.map((c) => ({ name: c, delivery: 'push', namespace: namespaces[c], secretName: 'signer' })),
    },
  });
}

/** The JWKS text and kids of one cluster's ConfigMap, read through its apiserver; undefined when absent. */
async function published(context: string) {
  const cm = await core(context)
    .readNamespacedConfigMap({ name: configMap, namespace: namespaces[context]! })
    .catch(() => undefined);
  if (!cm) return undefined;
  const text = cm.data?.['jwks.json'] ?? '';
  const keys = (JSON.parse(text) as { keys: { kid?: string; d?: string }[] }).keys;
  return {
    text,
    kids: keys.map((k) => k.kid),
    labels: cm.metadata?.labels ?? {},
    privateParts: keys.filter((k) => k.d),
  };
}

const allPublished = () => Promise.all(contexts.map(published));

/** Puts `keys` (public JWKs) in one cluster's ConfigMap, replacing what it held. */
async function seed(context: string, keys: unknown[]): Promise<void> {
  const namespace = namespaces[context]!;
  const body = { metadata: { name: configMap, namespace }, data: { 'jwks.json': JSON.stringify({ keys }) } };
  await core(context)
    .deleteNamespacedConfigMap({ name: configMap, namespace })
    .catch(() => undefined);
  await core(context).createNamespacedConfigMap({ namespace, body });
}

const foreign = { kty: 'oct', kid: 'someone-elses', k: 'AAAA' };
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as ApplicationFailure,
  );

beforeAll(async () => {
  for (const c of contexts) namespaces[c] = await freshNamespace(kcs[c]!, 'jwt');
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => purgeNamespace(kcs[c]!, namespaces[c]!).catch(() => undefined)));
}, 120_000);

describe('jwt-signing-key', () => {
  it.each(['EdDSA', 'ES256'] as const)(
    '%s: create publishes old and new keys in every cluster, the canary verifies, revoke removes the old key and proves it',
    async (algorithm) => {
      const current = await generateSigningJwk('EdDSA');
      // cluster-a already has a JWKS with the current key and one rotor did not write; b and c have none.
      await seed('cluster-a', [foreign, publicOf(current)]);
      for (const c of ['cluster-b', 'cluster-c'])
        await core(c)
          .deleteNamespacedConfigMap({ name: configMap, namespace: namespaces[c]! })
          .catch(() => undefined);

      const p = policy(algorithm);
      const pendingValue = await kind.create(p, { currentValue: JSON.stringify(current), rotation });
      const pending = parsePrivateJwk(pendingValue, 'pending');
      expect(pending.alg).toBe(algorithm);
      expect(pending.kid).not.toBe(current.kid);
      const after = await allPublished();
      expect(after.map((x) => x?.kids)).toEqual([
        ['someone-elses', current.kid, pending.kid],
        [current.kid, pending.kid],
        [current.kid, pending.kid],
      ]);
      // Public keys only, and the ConfigMaps rotor made say so.
      expect(after.flatMap((x) => x?.privateParts ?? [])).toEqual([]);
      expect(after.some((x) => x?.text.includes(pending.d))).toBe(false);
      expect(after[1]?.labels['app.kubernetes.io/managed-by']).toBe('rotor');
      const canary = canarySchema.parse({
        type: 'jwt-verify',
        name: 'verify',
        cluster: 'cluster-b',
        namespace: namespaces['cluster-b'],
        configMap,
      });
      const check = await runCanaryCheck(canary, pendingValue, signal, { kube });
      expect(check).toEqual({
        ok: true,
        detail: `a token signed with kid ${pending.kid} (${algorithm}) verified through configmap ${namespaces['cluster-b']}/${configMap} key jwks.json in cluster cluster-b`,
      });

      const evidence = await kind.revoke(p, {
        oldValue: JSON.stringify(current),
        currentValue: pendingValue,
        rotation,
      });
      expect(evidence.rejected).toBe(true);
      for (const c of contexts)
        expect(evidence.detail).toContain(
          `${namespaces[c]}/${configMap} key jwks.json in cluster ${c}: old key removed`,
        );
      expect(evidence.detail).toContain(`kid ${current.kid} absent, a token signed with it refused (no matching key)`);
      expect(evidence.detail).toContain(`a token signed with the current key (kid ${pending.kid}) verifies`);
      expect(evidence.detail).not.toContain(current.d);
      expect(evidence.detail).not.toContain(pending.d);
      // Proof by reading every ConfigMap back, independent of the evidence.
      expect((await allPublished()).map((x) => x?.kids)).toEqual([
        ['someone-elses', pending.kid],
        [pending.kid],
        [pending.kid],
      ]);
      // The old key's canary now fails: its kid is gone.
      const old = await runCanaryCheck(canary, JSON.stringify(current), signal, { kube });
      expect(old.ok).toBe(false);
      expect(old.detail).toContain(`kid ${current.kid} is not in configmap`);
      expect(old.detail).not.toContain(current.d);

      // Revoke is idempotent (activities run at least once).
      const again = await kind.revoke(p, { oldValue: JSON.stringify(current), currentValue: pendingValue, rotation });
      expect(again.rejected).toBe(true);
      expect(again.detail).toContain('old key already gone');
    },
  );

  it('failure injection after create: discard removes the new key (twice, idempotent); every JWKS is as before', async () => {
    const current = await generateSigningJwk('ES256');
    for (const c of contexts) await seed(c, c === 'cluster-c' ? [foreign, publicOf(current)] : [publicOf(current)]);
    const before = await allPublished();
    const p = policy();
    const pendingValue = await kind.create(p, { currentValue: JSON.stringify(current), rotation });
    expect((await allPublished()).every((x) => x?.kids.length === (x?.kids.includes('someone-elses') ? 3 : 2))).toBe(
      true,
    );
    await kind.discard(p, { pendingValue, currentValue: JSON.stringify(current), rotation });
    await kind.discard(p, { pendingValue, currentValue: JSON.stringify(current), rotation });
    expect((await allPublished()).map((x) => x?.text)).toEqual(before.map((x) => x?.text));
    // A discard that names the current key never removes it.
    await kind.discard(p, { pendingValue: JSON.stringify(current), currentValue: JSON.stringify(current), rotation });
    expect((await allPublished()).map((x) => x?.text)).toEqual(before.map((x) => x?.text));
    // Where the ConfigMap is gone, there is nothing to undo.
    await core('cluster-b').deleteNamespacedConfigMap({ name: configMap, namespace: namespaces['cluster-b']! });
    await kind.discard(p, { pendingValue, currentValue: JSON.stringify(current), rotation });
    expect(await published('cluster-b')).toBeUndefined();
  });

  it('refuses, changing nothing: a current value that is not a private JWK, a missing namespace', async () => {
    const current: PrivateJwk = await generateSigningJwk('EdDSA');
    await seed('cluster-a', [publicOf(current)]);
    const before = await published('cluster-a');
    const notAKey = `not-a-key-${randomBytes(8).toString('hex')}`;
    const bad = await failure(kind.create(policy('EdDSA', ['cluster-a']), { currentValue: notAKey, rotation }));
    expect(bad.type).toBe(ErrorTypes.invalidInput);
    expect(bad.message).toContain('the current value is not a JSON private JWK (value not shown)');
    expect(bad.message).not.toContain(notAKey);
    expect(await published('cluster-a')).toEqual(before);

    const p = policy('EdDSA', ['cluster-a']);
    const missing = {
      ...p,
      jwks: {
        ...p.jwks,
        targets: [
          { cluster: 'cluster-a', context: 'cluster-a', namespace: `absent-${randomBytes(3).toString('hex')}` },
        ],
      },
    };
    const noNs = await failure(kind.create(missing, { currentValue: JSON.stringify(current), rotation }));
    expect(noNs.type).toBe(ErrorTypes.deliveryMisconfigured);
    expect(noNs.message).toContain('does not exist; create it (rotor does not create namespaces)');

    const canary = canarySchema.parse({
      type: 'jwt-verify',
      name: 'verify',
      cluster: 'cluster-a',
      namespace: namespaces['cluster-a'],
      configMap: 'no-such-jwks',
    });
    const absent = await runCanaryCheck(canary, JSON.stringify(current), signal, { kube });
    expect(absent).toEqual({
      ok: false,
      detail: `configmap ${namespaces['cluster-a']}/no-such-jwks key jwks.json in cluster cluster-a does not exist; no verifier there can know kid ${current.kid}`,
    });
  });
  it('rotor plan lists each JWKS ConfigMap with the kids it publishes, or that it will be created', async () => {
    const current = await generateSigningJwk('EdDSA');
    await seed('cluster-a', [publicOf(current)]);
    for (const c of ['cluster-b', 'cluster-c'])
      await core(c)
        .deleteNamespacedConfigMap({ name: configMap, namespace: namespaces[c]! })
        .catch(() => undefined);
    const text = renderBlastRadius(await blastRadius(playbook(), stackKubeconfig()));
    const where = (c: string) => `jwks configmap ${namespaces[c]}/${configMap} key jwks.json in cluster ${c}`;
    expect(text).toContain(
      `${where('cluster-a')}: publishes kids [${current.kid}]; the new key is added beside the current one`,
    );
    expect(text).toContain(`${where('cluster-b')}: will be created`);
    expect(text).toContain(`${where('cluster-c')}: will be created`);
    expect(await published('cluster-b')).toBeUndefined();
  });
});
