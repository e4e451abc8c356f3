import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Canary, ClusterTarget, Credential, Store } from '../core/playbook/schema';
import { admissionKeys, grantProblems, issueGrant } from './admission-token';
import { keyring } from './keys';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const keys = admissionKeys(keyring([k1]));
const run = { workflowId: 'rotate/payments-db', runId: 'run-1' };
const store: Store = { type: 'vault', mount: 'secret', path: 'apps/payments/db', key: 'value' };
const credential: Credential = {
  kind: 'postgres-alternating-users',
  roles: ['payments_a', 'payments_b'],
  database: 'rotor',
  length: 32,
};
const cluster: ClusterTarget = {
  name: 'cluster-a',
  delivery: 'push',
  namespace: 'payments',
  secretName: 'db',
  workloads: [],
};
const canary: Canary = { type: 'http', name: 'ping', url: 'https://payments.example/health' } as Canary;
const plan = { store, credential, clusters: [cluster], canaries: [canary] };
const grant = issueGrant(keys, run, plan);

describe('admission grants', () => {
  it('cover exactly the admitted parts, whatever the key order of the input', () => {
    const reordered = JSON.parse(
      JSON.stringify({ key: 'value', path: store.type === 'vault' ? store.path : '', mount: 'secret', type: 'vault' }),
    ) as Store;
    expect(grantProblems(keys, grant, { store: reordered, credential, clusters: [cluster], canary })).toEqual([]);
  });

  it.each([
    [
      'another store path',
      { store: { ...store, path: 'apps/orders/db' } as Store },
      'its store location was not admitted',
    ],
    ['another mount', { store: { ...store, mount: 'orders' } as Store }, 'its store location was not admitted'],
    [
      "another team's roles",
      { store, credential: { ...credential, roles: ['orders_a', 'orders_b'] } as Credential },
      'its credential (postgres-alternating-users) was not admitted',
    ],
    [
      'another namespace for an admitted cluster',
      { store, clusters: [{ ...cluster, namespace: 'kube-system' }] },
      'cluster target cluster-a (kube-system/db) was not admitted',
    ],
    [
      'a cluster the plan did not name',
      { store, clusters: [{ ...cluster, name: 'cluster-c' }] },
      'cluster target cluster-c (payments/db) was not admitted',
    ],
    [
      'a canary sent elsewhere',
      { store, canary: { ...canary, url: 'https://attacker.example/' } as Canary },
      'canary ping was not admitted',
    ],
    ['no store at all', {}, 'the input names no store location to check'],
  ])('refuse %s', (_what, scope, problem) => {
    expect(grantProblems(keys, grant, scope)).toEqual([problem]);
  });

  it('are bound to the run they were issued to', () => {
    expect(grantProblems(keys, { ...grant, run: { ...run, runId: 'run-2' } }, { store })).toEqual([
      'its store location was not admitted',
    ]);
  });

  it('verify under the key that made them while it is listed, and name it when it is not', () => {
    const rotated = admissionKeys(keyring([k2, k1]));
    expect(grantProblems(rotated, grant, { store })).toEqual([]);
    expect(issueGrant(rotated, run, plan).keyId).toBe('k2');
    expect(grantProblems(admissionKeys(keyring([k2])), grant, { store })).toEqual([
      "the grant's key 'k1' is not in admission keys derived from keyring",
    ]);
  });

  it('use a key of their own, not the fingerprint key itself', () => {
    expect(keys.newest.key.equals(k1.key)).toBe(false);
  });
});
