/**
 * SubjectAccessReview answers kept across plans while RBAC is unchanged (inspect/review-cache.ts),
 * against the stack's real cluster-b apiserver. Every SubjectAccessReview the client sends is
 * counted (a spy that passes each call through to the apiserver). A second listing of the same
 * targets sends none; a RoleBinding granted, changed and revoked, and a ClusterRoleBinding granted
 * and revoked, are seen at once, each time with the apiserver's own answer, and an answer that grants less than RBAC does is never kept. Other test files change cluster-wide RBAC too (their ClusterRoles): a
 * repeat whose cluster-scoped RBAC moved underneath it is not evidence either way, so it is taken
 * again (at most 5 times); the claim is about RBAC that did not change.
 */
import { randomBytes } from 'node:crypto';
import { AuthorizationV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig, V1SubjectAccessReview } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientsFor } from '../../adapters/kubernetes/clients';
import { readClusterRbac, readRbac, reviewSecretAccess } from '../../adapters/kubernetes/inspect-reads';
import type { Identity } from '../../adapters/kubernetes/inspect-reads';
import type { ClusterReaders } from '../../core/contracts';
import { identityKey } from '../../inspect/rbac-grants';
import { ReviewCache, rbacFingerprint } from '../../inspect/review-cache';
import { reviewKey, whoCanReadAll } from '../../inspect/who-can-read';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();
const id = randomBytes(3).toString('hex');
const secretName = 'api-token';
const cluster = 'cluster-b';
const carol: Identity = { kind: 'User', name: `carol-${id}` };

/** The SubjectAccessReviews sent from here on, by user or group asked about. */
function countReviews(): { asked: () => string[] } {
  const spy = vi.spyOn(AuthorizationV1Api.prototype, 'createSubjectAccessReview');
  return {
    asked: () =>
      spy.mock.calls.map(([param]) => {
        const spec = (param as { body: V1SubjectAccessReview }).body.spec;
        return spec.user ?? spec.groups?.join(',') ?? '?';
      }),
  };
}
afterEach(() => vi.restoreAllMocks());

describe('SubjectAccessReview answers kept while RBAC is unchanged (cluster-b)', () => {
  let kc: KubeConfig;
  let rbac: RbacAuthorizationV1Api;
  let ns: string;
  const targets = () => [{ name: cluster, namespace: ns, secretName }];
  const names = (r: ClusterReaders[]) =>
    r.flatMap((c) => c.readers.map((x) => `${x.identity} ${x.verbs.join(',')}`)).sort();
  const clusterPrint = async () => {
    const c = await readClusterRbac(clientsFor(stackKubeconfig(), cluster));
    return rbacFingerprint(c.clusterRoles, c.clusterRoleBindings);
  };

  /** Two listings back to back with one cache, taken again while cluster-wide RBAC moved meanwhile. */
  async function twice(cache: ReviewCache) {
    for (let attempt = 1; ; attempt++) {
      const before = await clusterPrint();
      const first = await whoCanReadAll(stackKubeconfig(), targets(), { reviews: cache });
      const reviews = countReviews();
      const second = await whoCanReadAll(stackKubeconfig(), targets(), { reviews: cache });
      const sent = reviews.asked();
      vi.restoreAllMocks();
      if ((await clusterPrint()) === before || attempt === 5) return { first, second, sent };
    }
  }

  /**
   * What plan does for one reader's `get`: read RBAC, file the question under its fingerprint, ask
   * on a miss, keep the answer only when it confirms the verb RBAC grants. Returns the answer and
   * how many reviews were sent for it.
   */
  const asker = (cache: ReviewCache, who: Identity, clusterWide: boolean) => {
    const c = clientsFor(stackKubeconfig(), cluster);
    const target = { name: cluster, namespace: ns, secretName };
    return async () => {
      const snap = await readRbac(c, [ns]);
      const key = reviewKey(c, snap, target, identityKey(who), ['get'], clusterWide);
      const reviews = countReviews();
      const verbs = await cache.answer(
        key,
        () => reviewSecretAccess(c, who, ns, secretName, ['get']),
        (v) => v.length === 1,
      );
      const sent = reviews.asked().length;
      vi.restoreAllMocks();
      return { verbs, sent };
    };
  };

  const bind = () =>
    rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'token-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'token-reader' },
        subjects: [{ kind: 'User', name: carol.name, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
  const unbind = () => rbac.deleteNamespacedRoleBinding({ namespace: ns, name: 'token-reader' });

  beforeAll(async () => {
    kc = kubeconfigFor(cluster);
    rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    ns = await freshNamespace(kc, 'sar-cache');
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'token-reader' },
        rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get'] }],
      },
    });
  });
  afterAll(async () => {
    await purgeNamespace(kc, ns);
  });

  it('a second listing sends no SubjectAccessReview; granting and revoking a RoleBinding is seen at once', async () => {
    const cache = new ReviewCache();
    const base = await twice(cache);
    expect(base.first.flatMap((c) => c.unseen)).toEqual([]);
    expect(base.first[0]?.readers.length).toBeGreaterThan(0);
    expect(base.first[0]?.readers.every((r) => r.confirmed)).toBe(true);
    expect(base.sent).toEqual([]);
    expect(base.second).toEqual(base.first);

    await bind();
    const granted = await twice(cache);
    // The new binding changed the namespace's RBAC: carol is asked about, and the apiserver allows her.
    expect(names(granted.first)).toEqual([...names(base.first), `user:${carol.name} get`].sort());
    expect(granted.first[0]?.readers.find((r) => r.identity === `user:${carol.name}`)?.confirmed).toBe(true);
    expect(granted.sent).toEqual([]);
    expect(granted.second).toEqual(granted.first);

    await unbind();
    const revoked = await twice(cache);
    expect(names(revoked.first)).toEqual(names(base.first));
    expect(revoked.sent).toEqual([]);
  });

  it('the same question after each RoleBinding change: asked again, answered as the apiserver does now, kept only when it confirms RBAC', async () => {
    const step = asker(new ReviewCache(), carol, false);
    // Not granted: the apiserver says no, and a "no" is never kept.
    expect(await step()).toEqual({ verbs: [], sent: 1 });
    expect(await step()).toEqual({ verbs: [], sent: 1 });
    await bind();
    expect(await step()).toEqual({ verbs: ['get'], sent: 1 });
    expect((await step()).verbs).toEqual(['get']); // from memory unless cluster-wide RBAC moved meanwhile
    // Revoked by changing the binding's subject: a new resourceVersion, so the question is asked again.
    await rbac.patchNamespacedRoleBinding(
      {
        namespace: ns,
        name: 'token-reader',
        body: [{ op: 'replace', path: '/subjects/0/name', value: `dave-${id}` }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(await step()).toEqual({ verbs: [], sent: 1 });
    await unbind();
    expect(await step()).toEqual({ verbs: [], sent: 1 });
  });

  it('a ClusterRoleBinding granted and then revoked: the warm cache lists the new reader at once, and after the revocation the apiserver is asked again and says no', async () => {
    const cache = new ReviewCache();
    const erin: Identity = { kind: 'User', name: `erin-${id}` };
    const role = `rotor-sar-cache-${id}`;
    const erinListed = (r: ClusterReaders[]) => names(r).filter((n) => n.startsWith(`user:${erin.name} `));
    // The question plan asks about an identity whose grants are all cluster-wide.
    const step = asker(cache, erin, true);
    await rbac.createClusterRole({
      body: {
        metadata: { name: role },
        rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get'] }],
      },
    });
    try {
      // Warm the cache on this RBAC: erin is no reader yet.
      expect(erinListed(await whoCanReadAll(stackKubeconfig(), targets(), { reviews: cache }))).toEqual([]);
      await rbac.createClusterRoleBinding({
        body: {
          metadata: { name: role },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ kind: 'User', name: erin.name, apiGroup: 'rbac.authorization.k8s.io' }],
        },
      });
      // The grant is seen by the very next listing, confirmed by the apiserver, not served from memory.
      const granted = await whoCanReadAll(stackKubeconfig(), targets(), { reviews: cache });
      expect(erinListed(granted)).toEqual([`user:${erin.name} get`]);
      expect(granted[0]?.readers.find((r) => r.identity === `user:${erin.name}`)?.confirmed).toBe(true);
      expect((await step()).verbs).toEqual(['get']);

      await rbac.deleteClusterRoleBinding({ name: role });
      // Revoked: the next question is asked again (sent 1) and answered no; no stale allow.
      expect(await step()).toEqual({ verbs: [], sent: 1 });
      expect(erinListed(await whoCanReadAll(stackKubeconfig(), targets(), { reviews: cache }))).toEqual([]);
    } finally {
      await rbac.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: role }).catch(() => undefined);
    }
  });
});
