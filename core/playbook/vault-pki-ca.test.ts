import { describe, expect, it } from 'vitest';
import { validatePlaybook } from './validate';
import type { PlaybookInput } from './schema';

const doc = (spec: Partial<PlaybookInput['spec']>) => ({
  apiVersion: 'rotor.dev/v1',
  kind: 'RotationPlaybook',
  metadata: { name: 'ca' },
  spec: {
    secret: { name: 'ca', store: { type: 'vault', path: 'apps/payments/ca' } },
    credential: {
      kind: 'vault-pki-ca-rollover',
      mount: 'pki-rollover',
      issuerPrefix: 'payments-ca',
      commonName: 'Payments CA',
      leafRole: 'payments-leaf',
      bundle: { configMap: 'payments-ca' },
    },
    clusters: [
      { name: 'cluster-a', delivery: 'push', namespace: 'payments', secretName: 'ca' },
      { name: 'cluster-a2', context: 'cluster-a', delivery: 'push', namespace: 'payments', secretName: 'ca-2' },
    ],
    ...spec,
  },
});

describe('vault-pki-ca-rollover playbooks', () => {
  it('resolve one bundle target per context and namespace, with the defaults, the same when read again', () => {
    const r = validatePlaybook(doc({}), 'p.yaml');
    if (!('playbook' in r)) throw new Error(JSON.stringify(r.problems));
    expect(r.playbook.spec.credential).toEqual({
      kind: 'vault-pki-ca-rollover',
      mount: 'pki-rollover',
      issuerPrefix: 'payments-ca',
      commonName: 'Payments CA',
      keyType: 'ec',
      ttl: 365 * 86_400_000,
      leafRole: 'payments-leaf',
      bundle: {
        configMap: 'payments-ca',
        key: 'ca.crt',
        targets: [{ cluster: 'cluster-a', context: 'cluster-a', namespace: 'payments' }],
      },
    });
    const again = validatePlaybook(r.playbook, 'p.yaml');
    expect('playbook' in again ? again.playbook : again).toEqual(r.playbook);
  });

  it('refuses no clusters, a bad prefix and a CA lifetime under an hour, naming each field', () => {
    const r = validatePlaybook(
      doc({
        clusters: [],
        credential: {
          kind: 'vault-pki-ca-rollover',
          mount: 'pki-rollover',
          issuerPrefix: 'Payments CA',
          commonName: 'Payments CA',
          ttl: '10m',
          leafRole: 'payments-leaf',
          bundle: { configMap: 'payments-ca' },
        },
      }),
      'p.yaml',
    );
    expect(('problems' in r ? r.problems.map((p) => p.path) : []).sort()).toEqual([
      'spec.clusters',
      'spec.credential.issuerPrefix',
      'spec.credential.ttl',
    ]);
    const noClusters = validatePlaybook(doc({ clusters: [] }), 'p.yaml');
    expect('problems' in noClusters ? noClusters.problems : []).toEqual([
      {
        file: 'p.yaml',
        path: 'spec.clusters',
        message:
          'a vault-pki-ca-rollover publishes its trust bundle ConfigMap in every cluster of the playbook; give at least one cluster',
      },
    ]);
  });
});
