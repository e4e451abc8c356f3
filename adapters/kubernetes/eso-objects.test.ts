import { describe, expect, it } from 'vitest';
import { forceSyncProblem, isZeroDuration, pinnedData, pinnedRemoteRef, storeMismatch, syncState } from './eso-objects';
import type { ExternalSecret } from './eso-objects';
import type { ClusterVersions } from '../../core/contracts';

const vault = { type: 'vault' as const, mount: 'secret', path: 'apps/api', key: 'value' };
const aws = { type: 'aws' as const, secretId: 'apps/api', key: 'token' };

describe('ESO remote refs', () => {
  it('pins Vault KV v2 versions by number and AWS versions as uuid/<VersionId>', () => {
    expect(pinnedRemoteRef(vault, '7')).toEqual({ key: 'secret/apps/api', property: 'value', version: '7' });
    expect(pinnedRemoteRef(aws, 'abc-123')).toEqual({ key: 'apps/api', property: 'token', version: 'uuid/abc-123' });
    expect(pinnedRemoteRef({ type: 'aws', secretId: 'raw' }, 'v')).toEqual({ key: 'raw', version: 'uuid/v' });
  });

  it('replaces only the rotation keys and drops otherKey when there is no other version', () => {
    const es: ExternalSecret = {
      spec: {
        data: [
          { secretKey: 'username', remoteRef: { key: 'apps/api', property: 'user' } },
          { secretKey: 'value', remoteRef: { key: 'apps/api', property: 'value' } },
          { secretKey: 'value-other', remoteRef: { key: 'apps/api', property: 'value', version: '1' } },
        ],
      },
    };
    const versions = (other: string | null): ClusterVersions => ({
      store: vault,
      current: { version: '2', fingerprint: 'f2' },
      other: other ? { version: other, fingerprint: 'f' } : null,
      currentKey: 'value',
      otherKey: 'value-other',
    });
    expect(pinnedData(es, versions('1')).map((d) => [d.secretKey, d.remoteRef.version])).toEqual([
      ['username', undefined],
      ['value', '2'],
      ['value-other', '1'],
    ]);
    expect(pinnedData(es, versions(null)).map((d) => d.secretKey)).toEqual(['username', 'value']);
  });
});

describe('force-sync preconditions', () => {
  it('recognises zero Go durations', () => {
    for (const d of ['0', '0s', '0m', '0h0m0s', '0.0s']) expect(isZeroDuration(d)).toBe(true);
    for (const d of ['1h', '10s', '0h1m0s', '1h0m0s', '']) expect(isZeroDuration(d)).toBe(false);
  });

  it('refuses refreshInterval 0 (unless OnChange) and CreatedOnce, with the fix', () => {
    expect(forceSyncProblem({ spec: { refreshInterval: '0s' } })).toMatch(
      /ESO ignores force-sync.*set spec.refreshInterval to a non-zero duration/,
    );
    expect(forceSyncProblem({ spec: { refreshInterval: '0s', refreshPolicy: 'OnChange' } })).toBeUndefined();
    expect(forceSyncProblem({ spec: { refreshInterval: '1h', refreshPolicy: 'CreatedOnce' } })).toMatch(/CreatedOnce/);
    expect(forceSyncProblem({ spec: { refreshInterval: '1h' } })).toBeUndefined();
  });

  it('checks the store provider matches the playbook store', () => {
    expect(storeMismatch({ spec: { provider: { vault: { path: 'secret', version: 'v2' } } } }, vault)).toBeUndefined();
    expect(storeMismatch({ spec: { provider: { vault: {} } } }, vault)).toBeUndefined();
    expect(storeMismatch({ spec: { provider: { vault: { path: 'kv' } } } }, vault)).toMatch(/mount 'kv'/);
    expect(storeMismatch({ spec: { provider: { aws: { service: 'SecretsManager' } } } }, vault)).toMatch(
      /provider aws/,
    );
    expect(storeMismatch({ spec: { provider: { aws: { service: 'ParameterStore' } } } }, aws)).toMatch(
      /ParameterStore/,
    );
  });
});

describe('sync state', () => {
  const es = (over: Partial<ExternalSecret['status']>, annotations: Record<string, string> = {}): ExternalSecret => ({
    metadata: { name: 'api', generation: 3, annotations },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced' }],
      syncedResourceVersion: '3-abc',
      refreshTime: '2026-01-01T00:00:10Z',
      ...over,
    },
  });

  it('is synced for the current generation, refreshed since the force-sync stamp', () => {
    expect(syncState(es({}, { 'force-sync': '2026-01-01T00:00:10.600Z' })).synced).toBe(true);
    expect(syncState(es({ syncedResourceVersion: '2-abc' })).summary).toMatch(/not yet synced generation 3/);
    expect(syncState(es({}, { 'force-sync': '2026-01-01T00:00:11.000Z' })).summary).toMatch(
      /not refreshed since force-sync/,
    );
    const failing = syncState(
      es({
        conditions: [
          { type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data' },
        ],
      }),
    );
    expect(failing).toEqual({
      synced: false,
      summary: 'ExternalSecret api: Ready=False SecretSyncedError (could not get secret data)',
    });
  });
});
