import { ApiException } from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ErrorTypes, RetryableErrorTypes } from '../../core/failures';
import { withKeys, withoutKid } from '../credentials/jwk';
import type { PublicJwk } from '../credentials/jwk';
import type { KubeClients } from './clients';
import { updateJwks } from './jwks';

const target = { cluster: 'a', context: 'a', namespace: 'auth' };
const at = { configMap: 'auth-jwks', key: 'jwks.json' };
const key = (kid: string): PublicJwk => ({ kty: 'OKP', crv: 'Ed25519', x: kid, kid, alg: 'EdDSA', use: 'sig' });
const apiError = (code: number) => new ApiException(code, `HTTP ${code}`, { message: `status ${code}` }, {});

/**
 * One ConfigMap as an apiserver keeps it: replace succeeds only with the current resourceVersion.
 * `meddle` runs before each replace is judged (another writer); `noNamespace` makes create fail 404.
 */
function fakeCluster(o: { meddle?: (cm: V1ConfigMap) => void; noNamespace?: boolean } = {}) {
  let stored: V1ConfigMap | undefined;
  let version = 0;
  const writes: string[] = [];
  const core = {
    readNamespacedConfigMap: () => (stored ? Promise.resolve(structuredClone(stored)) : Promise.reject(apiError(404))),
    createNamespacedConfigMap: ({ body }: { body: V1ConfigMap }) => {
      if (o.noNamespace) return Promise.reject(apiError(404));
      if (stored) return Promise.reject(apiError(409));
      writes.push('create');
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(stored);
    },
    replaceNamespacedConfigMap: ({ body }: { body: V1ConfigMap }) => {
      if (stored) o.meddle?.(stored);
      if (!stored || body.metadata?.resourceVersion !== stored.metadata?.resourceVersion) {
        writes.push('conflict');
        return Promise.reject(apiError(409));
      }
      writes.push('replace');
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(stored);
    },
  };
  const kube = { kubeconfig: undefined, forContext: () => ({ core }) } as unknown as KubeClients;
  const kids = () =>
    (JSON.parse(stored?.data?.['jwks.json'] ?? '{"keys":[]}') as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  return { kube, writes, kids, set: (cm: V1ConfigMap) => (stored = cm) };
}

describe('updateJwks', () => {
  it('creates a missing ConfigMap, then changes it in place, and writes nothing when nothing changes', async () => {
    const c = fakeCluster();
    expect(await updateJwks(c.kube, target, at, (j) => withKeys(j, [key('old'), key('new')]), { create: true })).toBe(
      'created',
    );
    expect(await updateJwks(c.kube, target, at, (j) => withKeys(j, [key('new')]), { create: true })).toBe('unchanged');
    expect(await updateJwks(c.kube, target, at, (j) => withoutKid(j, 'old'), { create: false })).toBe('updated');
    expect(c.kids()).toEqual(['new']);
    expect(c.writes).toEqual(['create', 'replace']);
  });

  it('reads again when another writer changed the ConfigMap meanwhile, keeping that writer’s key', async () => {
    let meddled = false;
    const c = fakeCluster({
      meddle: (cm) => {
        if (meddled) return;
        meddled = true;
        // Another writer adds its key (a new resourceVersion) between rotor's read and its replace.
        cm.data = { 'jwks.json': JSON.stringify({ keys: [key('old'), key('theirs')] }) };
        cm.metadata = { ...cm.metadata, resourceVersion: 'theirs' };
      },
    });
    c.set({
      metadata: { name: 'auth-jwks', resourceVersion: '1' },
      data: { 'jwks.json': JSON.stringify({ keys: [key('old')] }) },
    });
    expect(await updateJwks(c.kube, target, at, (j) => withKeys(j, [key('new')]), { create: true })).toBe('updated');
    expect(c.writes).toEqual(['conflict', 'replace']);
    expect(c.kids()).toEqual(['old', 'theirs', 'new']);
  });

  it('gives up after 5 conflicts as a retryable KubernetesConflict, and fails a missing namespace as DeliveryMisconfigured', async () => {
    const busy = fakeCluster({
      meddle: (cm) => (cm.metadata = { ...cm.metadata, resourceVersion: `${Math.random()}` }),
    });
    busy.set({ metadata: { name: 'auth-jwks', resourceVersion: '1' }, data: {} });
    const conflict = await updateJwks(busy.kube, target, at, (j) => withKeys(j, [key('new')]), { create: true }).catch(
      (e: unknown) => e as ApplicationFailure,
    );
    expect(conflict).toBeInstanceOf(ApplicationFailure);
    expect((conflict as ApplicationFailure).type).toBe(RetryableErrorTypes.kubernetesConflict);
    expect((conflict as ApplicationFailure).nonRetryable).toBe(false);

    const nowhere = fakeCluster({ noNamespace: true });
    const missing = await updateJwks(nowhere.kube, target, at, (j) => j, { create: true }).catch(
      (e: unknown) => e as ApplicationFailure,
    );
    expect((missing as ApplicationFailure).type).toBe(ErrorTypes.deliveryMisconfigured);
    expect((missing as ApplicationFailure).message).toBe(
      'cluster a: namespace auth does not exist; create it (rotor does not create namespaces) or fix clusters[].namespace',
    );
    // Undo and revoke never create: a missing ConfigMap is nothing to change.
    expect(await updateJwks(nowhere.kube, target, at, (j) => j, { create: false })).toBe('absent');
  });
});
