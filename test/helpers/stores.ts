import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import vaultClient from 'node-vault';
import type { Store } from '../../core/playbook/schema';
import { useStackEnv } from './stack-env';

/** What a store holds as current, read directly from the real service (not through rotor). */
export interface StoreSnapshot {
  currentVersion: string;
  currentValue: string;
  previousVersion: string | null;
  pendingVersion: string | null;
}

export interface TestStore {
  store: Store;
  snapshot(): Promise<StoreSnapshot>;
  /** Every version ever written, for exactly-once checks. */
  versionCount(): Promise<number>;
  /** Version id → value of versions still readable. */
  readVersion(version: string): Promise<string | null>;
}

/**
 * A Secrets Manager secret in moto (the stack's, or the one at `endpoint`), created with `initial`
 * as AWSCURRENT, under `prefix` (a policy's secretIdPrefix, say).
 */
export async function awsTestStore(initial: string, endpoint?: string, prefix = 'rotor-test/'): Promise<TestStore> {
  useStackEnv();
  const sm = new SecretsManagerClient(endpoint ? { endpoint } : {});
  const secretId = `${prefix}${randomUUID()}`;
  await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: initial }));
  const stagesOf = async () =>
    (await sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
  const holder = (all: Record<string, string[]>, label: string) =>
    Object.keys(all).find((v) => all[v]?.includes(label)) ?? null;
  return {
    store: { type: 'aws', secretId },
    async snapshot() {
      const all = await stagesOf();
      const cur = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
      return {
        currentVersion: cur.VersionId ?? '',
        currentValue: cur.SecretString ?? '',
        previousVersion: holder(all, 'AWSPREVIOUS'),
        pendingVersion: holder(all, 'AWSPENDING'),
      };
    },
    async versionCount() {
      return Object.keys(await stagesOf()).length;
    },
    async readVersion(version) {
      const res = await sm
        .send(new GetSecretValueCommand({ SecretId: secretId, VersionId: version }))
        .catch(() => undefined);
      return res?.SecretString ?? null;
    },
  };
}

/**
 * A Vault KV v2 entry under `mount` (default secret/; the stack's Vault, or the one at `endpoint`),
 * written once with `initial`, under `prefix` (a policy's pathPrefix, say).
 */
export async function vaultTestStore(
  initial: string,
  endpoint?: string,
  prefix = 'rotor-test/',
  mount = 'secret',
): Promise<TestStore> {
  const env = useStackEnv();
  const vault = vaultClient({ endpoint: endpoint ?? env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
  const path = `${prefix}${randomUUID()}`;
  await vault.write(`${mount}/data/${path}`, { data: { value: initial } });
  const metadata = async () =>
    (
      (await vault.read(`${mount}/metadata/${path}`)) as {
        data: { current_version: number; custom_metadata: Record<string, string> | null };
      }
    ).data;
  const readVersion = async (version: string) => {
    const res = (await vault.read(`${mount}/data/${path}?version=${version}`).catch(() => undefined)) as
      { data?: { data?: { value?: string } | null } } | undefined;
    return res?.data?.data?.value ?? null;
  };
  return {
    store: { type: 'vault', mount, path, key: 'value' },
    async snapshot() {
      const m = await metadata();
      const currentVersion = m.custom_metadata?.['rotor-current-version'] ?? String(m.current_version);
      return {
        currentVersion,
        currentValue: (await readVersion(currentVersion)) ?? '',
        previousVersion: m.custom_metadata?.['rotor-previous-version'] ?? null,
        pendingVersion: m.custom_metadata?.['rotor-pending-version'] ?? null,
      };
    },
    async versionCount() {
      return (await metadata()).current_version;
    },
    readVersion,
  };
}

/**
 * The store after one rotation from `before` to `current`: two versions in all, the new one
 * current with a new value, the old one previous, nothing pending. Values are compared, never shown.
 */
export async function rotatedOnce(ts: TestStore, before: StoreSnapshot, current: string) {
  const after = await ts.snapshot();
  return {
    state: {
      versions: await ts.versionCount(),
      current: after.currentVersion,
      previous: after.previousVersion,
      pending: after.pendingVersion,
      newValue: after.currentValue !== before.currentValue,
    },
    expected: { versions: 2, current, previous: before.currentVersion, pending: null, newValue: true },
    after,
  };
}

/** The values the store still holds (current, previous, pending): what a recorded history must not contain. */
export async function storeValues(ts: TestStore): Promise<string[]> {
  const s = await ts.snapshot();
  const versions = [s.previousVersion, s.pendingVersion].filter((v): v is string => v !== null);
  const others = await Promise.all(versions.map((v) => ts.readVersion(v)));
  return [s.currentValue, ...others.filter((v): v is string => v !== null)];
}

/** A secret of an incident test: its store, read before the incident. */
export interface IncidentCase {
  secret: string;
  store: TestStore;
  before: StoreSnapshot;
}

/**
 * Where the stores, read directly, disagree with an incident's report: a secret reported rotated
 * must have been rotated exactly once; any other must be as before (same current version and
 * value, nothing pending). Empty when they agree.
 */
export async function storesAgainstReport(
  cases: readonly IncidentCase[],
  rotated: Iterable<string>,
): Promise<string[]> {
  const reported = new Set(rotated);
  const mismatches: string[] = [];
  for (const c of cases) {
    const after = await c.store.snapshot();
    if (reported.has(c.secret)) {
      const r = await rotatedOnce(c.store, c.before, after.currentVersion);
      if (JSON.stringify(r.state) !== JSON.stringify(r.expected))
        mismatches.push(`${c.secret} (report: rotated): ${JSON.stringify(r.state)}`);
    } else {
      const unchanged = {
        current: after.currentVersion === c.before.currentVersion,
        pending: after.pendingVersion,
        sameValue: after.currentValue === c.before.currentValue,
      };
      if (!unchanged.current || unchanged.pending !== null || !unchanged.sameValue)
        mismatches.push(`${c.secret} (report: not rotated): ${JSON.stringify(unchanged)}`);
    }
  }
  return mismatches;
}
