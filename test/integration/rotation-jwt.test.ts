/**
 * JWT signing keys through the whole workflow, against Secrets Manager (moto) and the stack's
 * apiservers (cluster-a and cluster-b, push delivery): a rotation leaves the new key current in
 * the store, the signers' Secrets and every JWKS, with the old key removed and proven gone after
 * the soak; a failing jwt-verify canary and a failure injected right after create roll back to
 * every JWKS exactly as before (read back through the apiservers) and the old key current.
 */
import { randomBytes } from 'node:crypto';
import type { ApplicationFailure } from '@temporalio/common';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { generateSigningJwk, parsePrivateJwk, publicOf } from '../../adapters/credentials/jwk';
import type { PrivateJwk } from '../../adapters/credentials/jwk';
import { RetryableErrorTypes, WorkflowErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import { rotateAsGeneratedIdentity } from '../helpers/rbac-identity';
import { kubeconfigFor, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { rotateRecorded, useFleetWorker } from '../helpers/recorded-rotation';
import { expectRolledBack } from '../helpers/rolled-back';
import { faultSwitch } from '../helpers/faults';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation } from '../helpers/worker';

useStackEnv();
const contexts = ['cluster-a', 'cluster-b'] as const;
const kcs = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c)])) as Record<string, KubeConfig>;
const core = (context: string) => kcs[context]!.makeApiClient(CoreV1Api);
const namespaces: Record<string, string> = {};
const foreign = { kty: 'oct', kid: 'someone-elses', k: 'AAAA' };

/** Faults injected right after real steps (test/helpers/faults.ts). */
const faults = faultSwitch(RetryableErrorTypes.kubernetes);

/** A store whose current value is a fresh key, and each cluster's JWKS ConfigMap holding its public key. */
async function setUp(configMap: string) {
  const initial: PrivateJwk = await generateSigningJwk('EdDSA');
  const ts = await awsTestStore(JSON.stringify(initial));
  for (const c of contexts) {
    const namespace = namespaces[c]!;
    const keys = c === 'cluster-a' ? [foreign, publicOf(initial)] : [publicOf(initial)];
    await core(c).createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: configMap, namespace }, data: { 'jwks.json': JSON.stringify({ keys }) } },
    });
  }
  return { initial, ts, configMap };
}

/** Each cluster's JWKS ConfigMap as the apiserver holds it: its data and resourceVersion. */
const jwksOf = (configMap: string) =>
  Promise.all(
    contexts.map(async (c) => {
      const cm = await core(c).readNamespacedConfigMap({ name: configMap, namespace: namespaces[c]! });
      return { data: cm.data, resourceVersion: cm.metadata?.resourceVersion };
    }),
  );
const kidsIn = async (configMap: string) =>
  (await jwksOf(configMap)).map((x) =>
    (JSON.parse(x.data?.['jwks.json'] ?? '{}') as { keys: { kid: string }[] }).keys.map((k) => k.kid),
  );

function spec(configMap: string, canaryConfigMap = configMap): Partial<PlaybookInput['spec']> {
  return {
    credential: { kind: 'jwt-signing-key', algorithm: 'ES256', maxTokenLifetime: '2s', jwks: { configMap } },
    soak: '2s',
    clusters: contexts.map((c) => ({ name: c, delivery: 'push', namespace: namespaces[c]!, secretName: 'signer' })),
    canaries: [
      {
        type: 'jwt-verify',
        name: 'verify-b',
        cluster: 'cluster-b',
        namespace: namespaces['cluster-b']!,
        configMap: canaryConfigMap,
      },
    ],
    timeouts: { gate: '30s' },
    consumerGate: { settle: '1s' },
  };
}

describe('rotation of a JWT signing key through the workflow', () => {
  const worker = useFleetWorker({ kcs, namespaces, label: 'jwt-wf', faults });

  it('rotates: the new key is current everywhere, the old public key is removed from every JWKS and proven gone', async () => {
    const k = await setUp(`jwks-ok-${randomBytes(3).toString('hex')}`);
    const { out, status, recorded } = await rotateRecorded(
      worker(),
      spec(k.configMap),
      k.ts,
      'jwt-signing-key-success',
    );
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const nowValue = (await k.ts.snapshot()).currentValue;
    const now = parsePrivateJwk(nowValue, 'current');
    expect(now.kid).not.toBe(k.initial.kid);
    expect(now.alg).toBe('ES256');
    expect(await kidsIn(k.configMap)).toEqual([['someone-elses', now.kid], [now.kid]]);
    // Signers read the new private key from their Secret in every cluster.
    for (const c of contexts)
      expect((await secretData(kcs[c]!, namespaces[c]!, 'signer'))['value'] === nowValue).toBe(true);
    expect(status.canaries.map((c) => c.ok)).toEqual([true]);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain(`kid ${k.initial.kid} absent, a token signed with it refused`);
    expect(status.revocation?.detail).not.toContain(now.d);
    // No private key in Temporal: neither the old nor the new `d`; kids (public) may be there.
    expect(recorded.includes(k.initial.d) || recorded.includes(now.d)).toBe(false);
    expect(recorded).toContain(now.kid);
  });

  it('rotates as exactly the Kubernetes identity `rotor rbac` prints (JWKS ConfigMaps included)', async () => {
    const k = await setUp(`jwks-rbac-${randomBytes(3).toString('hex')}`);
    const playbook = testPlaybook(k.ts.store, spec(k.configMap));
    expect(await rotateAsGeneratedIdentity(playbook)).toBeUndefined();
    const now = parsePrivateJwk((await k.ts.snapshot()).currentValue, 'current');
    expect(await kidsIn(k.configMap)).toEqual([['someone-elses', now.kid], [now.kid]]);
  });

  it('a playbook crafted past the CLI with a soak shorter than maxTokenLifetime is refused by the workflow, nothing changed', async () => {
    const k = await setUp(`jwks-soak-${randomBytes(3).toString('hex')}`);
    const before = await jwksOf(k.configMap);
    // The CLI would refuse it; a client starting the workflow directly gets the same check.
    const valid = testPlaybook(k.ts.store, spec(k.configMap));
    const crafted = { ...valid, spec: { ...valid.spec, soak: 1000 } };
    const out = await worker().run(async () => outcomeOf(await startRotation(worker(), crafted)));
    expect(out.ok).toBe(false);
    const failure = (out.ok ? undefined : out.error.cause) as ApplicationFailure | undefined;
    expect(failure?.type).toBe(WorkflowErrorTypes.invalidPlaybook);
    expect(failure?.message).toContain('spec.soak: is 1s, shorter than spec.credential.maxTokenLifetime (2s)');
    expect(await jwksOf(k.configMap)).toEqual(before);
    expect((await k.ts.snapshot()).currentValue === JSON.stringify(k.initial)).toBe(true);
  });

  it('a failing jwt-verify canary (a JWKS without the new key) rolls back: every JWKS as before, the old key current', async () => {
    const k = await setUp(`jwks-canary-${randomBytes(3).toString('hex')}`);
    // The canary reads a ConfigMap the rotation does not publish to: the new kid is not there.
    const elsewhere = `jwks-other-${randomBytes(3).toString('hex')}`;
    await core('cluster-b').createNamespacedConfigMap({
      namespace: namespaces['cluster-b']!,
      body: { metadata: { name: elsewhere }, data: { 'jwks.json': JSON.stringify({ keys: [foreign] }) } },
    });
    const before = await jwksOf(k.configMap);
    const run = await rotateRecorded(worker(), spec(k.configMap, elsewhere), k.ts, 'jwt-signing-key-rolled-back');
    const why = expectRolledBack(run, 'CanaryFailed');
    expect(why?.message).toContain(`canary 'verify-b' failed: kid `);
    expect(why?.message).toContain(`is not in configmap ${namespaces['cluster-b']}/${elsewhere} key jwks.json`);
    const after = await jwksOf(k.configMap);
    expect(after.map((x) => x.data)).toEqual(before.map((x) => x.data));
    const snap = await k.ts.snapshot();
    expect(snap.currentValue === JSON.stringify(k.initial)).toBe(true);
    expect(snap.pendingVersion).toBeNull();
  });

  it.each([
    { step: 'create' as const, undo: 'the new key is removed from every JWKS although create never answered' },
    { step: 'promote' as const, undo: 'the store is demoted and the new key removed from every JWKS' },
  ])('a failure injected right after $step rolls back: $undo', async ({ step }) => {
    const k = await setUp(`jwks-${step}-${randomBytes(3).toString('hex')}`);
    const before = await jwksOf(k.configMap);
    faults.state.fault = step;
    try {
      const run = await rotateRecorded(worker(), spec(k.configMap), k.ts);
      expectRolledBack(run, 'InjectedFault');
    } finally {
      faults.state.fault = 'none';
    }
    expect((await jwksOf(k.configMap)).map((x) => x.data)).toEqual(before.map((x) => x.data));
    const snap = await k.ts.snapshot();
    expect(snap.currentValue === JSON.stringify(k.initial)).toBe(true);
  });
  it('a failure right after revoke (past the point of no return) retries: the old key is already gone, proven again', async () => {
    const k = await setUp(`jwks-revoke-${randomBytes(3).toString('hex')}`);
    faults.state.fault = 'revoke-once';
    const { out, status } = await rotateRecorded(worker(), spec(k.configMap), k.ts);
    expect(faults.state.fault).toBe('none');
    expect(out.ok ? undefined : out.error).toBeUndefined();
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain('old key already gone');
    const now = parsePrivateJwk((await k.ts.snapshot()).currentValue, 'current');
    expect(await kidsIn(k.configMap)).toEqual([['someone-elses', now.kid], [now.kid]]);
  });
});
