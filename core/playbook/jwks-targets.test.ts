import { describe, expect, it } from 'vitest';
import { validatePlaybook } from './validate';
import type { PlaybookInput } from './schema';

const doc = (spec: Partial<PlaybookInput['spec']>) => ({
  apiVersion: 'rotor.dev/v1',
  kind: 'RotationPlaybook',
  metadata: { name: 'signer' },
  spec: {
    secret: { name: 'signer', store: { type: 'vault', path: 'apps/auth/signer' } },
    credential: { kind: 'jwt-signing-key', maxTokenLifetime: '1h', jwks: { configMap: 'auth-jwks' } },
    soak: '1h',
    clusters: [
      { name: 'cluster-a', delivery: 'push', namespace: 'auth', secretName: 'signer' },
      { name: 'cluster-a2', context: 'cluster-a', delivery: 'push', namespace: 'auth', secretName: 'signer-2' },
      { name: 'cluster-b', delivery: 'push', namespace: 'auth-b', secretName: 'signer' },
    ],
    ...spec,
  },
});

describe('jwt-signing-key playbooks', () => {
  it('resolve one JWKS target per context and namespace of spec.clusters, with the defaults', () => {
    const r = validatePlaybook(doc({}), 'p.yaml');
    if (!('playbook' in r)) throw new Error(JSON.stringify(r.problems));
    expect(r.playbook.spec.credential).toEqual({
      kind: 'jwt-signing-key',
      algorithm: 'EdDSA',
      maxTokenLifetime: 3_600_000,
      jwks: {
        configMap: 'auth-jwks',
        key: 'jwks.json',
        targets: [
          { cluster: 'cluster-a', context: 'cluster-a', namespace: 'auth' },
          { cluster: 'cluster-b', context: 'cluster-b', namespace: 'auth-b' },
        ],
      },
    });
    // The worker validates the parsed playbook again: the same result, targets replaced, not doubled.
    const again = validatePlaybook(r.playbook, 'p.yaml');
    expect(again).toEqual(r);
  });

  it('replace targets written by hand with those of spec.clusters', () => {
    const written = doc({
      credential: {
        kind: 'jwt-signing-key',
        maxTokenLifetime: '1h',
        jwks: { configMap: 'auth-jwks', targets: [{ cluster: 'x', context: 'victim', namespace: 'other-team' }] },
      },
    });
    const r = validatePlaybook(written, 'p.yaml');
    if (!('playbook' in r)) throw new Error(JSON.stringify(r.problems));
    const cred = r.playbook.spec.credential;
    expect(cred.kind === 'jwt-signing-key' && cred.jwks.targets?.map((t) => t.context)).toEqual([
      'cluster-a',
      'cluster-b',
    ]);
  });

  it('refuse a soak shorter than maxTokenLifetime, naming both fields', () => {
    const r = validatePlaybook(doc({ soak: '30m' }), 'p.yaml');
    expect('problems' in r && r.problems).toEqual([
      {
        file: 'p.yaml',
        path: 'spec.soak',
        message:
          'is 30m, shorter than spec.credential.maxTokenLifetime (1h): tokens signed with the old key just before promote stay valid that long, so the old public key must stay published until then; write soak: 1h or more',
      },
    ]);
    expect('problems' in validatePlaybook(doc({ soak: undefined }), 'p.yaml')).toBe(true);
  });

  it('refuse a playbook without clusters, a bad algorithm and a zero lifetime', () => {
    const r = validatePlaybook(
      doc({
        clusters: [],
        credential: {
          kind: 'jwt-signing-key',
          algorithm: 'RS256' as 'EdDSA',
          maxTokenLifetime: 0,
          jwks: { configMap: 'auth-jwks' },
        },
      }),
      'p.yaml',
    );
    expect('problems' in r && r.problems.map((p) => p.path)).toEqual([
      'spec.credential.algorithm',
      'spec.credential.maxTokenLifetime',
    ]);
    const none = validatePlaybook(doc({ clusters: [] }), 'p.yaml');
    expect('problems' in none && none.problems).toEqual([
      {
        file: 'p.yaml',
        path: 'spec.clusters',
        message:
          'a jwt-signing-key publishes its JWKS ConfigMap in every cluster of the playbook; give at least one cluster',
      },
    ]);
  });
});
