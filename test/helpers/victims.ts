/**
 * "Nothing changed" checks that can fail: another team's resources as they really are, read
 * straight from each service with the stack's admin access (never through rotor). Take a
 * snapshot before an attack and one after; `changesBetween` names every victim whose state
 * differs. Secret values are kept as digests only, so a report shows what changed, never a value.
 */
import { createHash } from 'node:crypto';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type NodeVault from 'node-vault';
import { statusOf } from './kube';
import { withPgAdmin } from './postgres';
import { redisUser } from './redis';
import { canonicalJson } from '../../core/canonical-json';

/** Reads one victim's state as plain JSON-able data. */
export type Probe = () => Promise<unknown>;

/** Each victim's state, as canonical JSON. */
export type VictimSnapshot = Record<string, string>;

/** A value as a short digest: equal values compare equal, the value itself is never kept. */
const digest = (value: string): string => `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;

/** Reads every probe (in parallel) into one snapshot. */
export async function snapshotVictims(probes: Record<string, Probe>): Promise<VictimSnapshot> {
  const states = await Promise.all(Object.entries(probes).map(async ([name, p]) => [name, canonicalJson(await p())]));
  return Object.fromEntries(states) as VictimSnapshot;
}

/** `<victim>: <before> → <after>` for each victim whose state differs; empty when nothing changed. */
export function changesBetween(before: VictimSnapshot, after: VictimSnapshot): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names
    .filter((n) => before[n] !== after[n])
    .map((n) => `${n}: ${before[n] ?? '(not read)'} → ${after[n] ?? '(not read)'}`);
}

/** The victim names `changesBetween` reported. */
export const changedVictims = (changes: string[]): string[] => changes.map((c) => c.slice(0, c.indexOf(': ')));

/** A Vault KV v2 entry: every version's metadata, the custom metadata and a digest of the current data. */
export function vaultKvProbe(vault: NodeVault.client, mount: string, path: string): Probe {
  return async () => {
    const m = (
      (await vault.read(`${mount}/metadata/${path}`)) as {
        data: {
          current_version: number;
          oldest_version: number;
          updated_time: string;
          custom_metadata: Record<string, string> | null;
          versions: Record<string, unknown>;
        };
      }
    ).data;
    const current = (await vault.read(`${mount}/data/${path}`)) as { data: { data: unknown } };
    return {
      currentVersion: m.current_version,
      oldestVersion: m.oldest_version,
      updated: m.updated_time,
      custom: m.custom_metadata,
      versions: m.versions,
      currentData: digest(canonicalJson(current.data.data)),
    };
  };
}

/** A Secrets Manager secret: version ids with their stages, tags, last change and a digest of AWSCURRENT. */
export function awsSecretProbe(sm: SecretsManagerClient, secretId: string): Probe {
  return async () => {
    const d = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    const cur = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    return {
      stages: d.VersionIdsToStages,
      tags: (d.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort(),
      lastChanged: d.LastChangedDate?.toISOString(),
      deleted: d.DeletedDate?.toISOString() ?? null,
      current: { version: cur.VersionId, value: digest(cur.SecretString ?? '') },
    };
  };
}

/** An IAM user's access keys: id, status and creation time of each. */
export function iamKeysProbe(iam: IAMClient, userName: string): Probe {
  return async () =>
    ((await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [])
      .map((k) => ({ id: k.AccessKeyId, status: k.Status, created: k.CreateDate?.toISOString() }))
      .sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** A Kubernetes Secret: identity, resourceVersion, labels, annotations and a digest per data key ('absent' if none). */
export function kubeSecretProbe(kc: KubeConfig, namespace: string, name: string): Probe {
  const core = kc.makeApiClient(CoreV1Api);
  return async () => {
    if ((await statusOf(core.readNamespacedSecret({ name, namespace }))) === 404) return 'absent';
    const s = await core.readNamespacedSecret({ name, namespace });
    return {
      uid: s.metadata?.uid,
      resourceVersion: s.metadata?.resourceVersion,
      labels: s.metadata?.labels ?? {},
      annotations: s.metadata?.annotations ?? {},
      data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, digest(v)])),
    };
  };
}

/** A ConfigMap (e.g. a JWKS) as the apiserver holds it: uid, resourceVersion, labels, annotations and data. */
export function kubeConfigMapProbe(kc: KubeConfig, namespace: string, name: string): Probe {
  const core = kc.makeApiClient(CoreV1Api);
  return async () => {
    if ((await statusOf(core.readNamespacedConfigMap({ name, namespace }))) === 404) return 'absent';
    const cm = await core.readNamespacedConfigMap({ name, namespace });
    return {
      uid: cm.metadata?.uid,
      resourceVersion: cm.metadata?.resourceVersion,
      labels: cm.metadata?.labels ?? {},
      annotations: cm.metadata?.annotations ?? {},
      data: cm.data ?? {},
    };
  };
}

/** PostgreSQL roles as pg_authid holds them: login, password (digest of its hash) and expiry. */
export function pgRolesProbe(roles: readonly string[]): Probe {
  return () =>
    withPgAdmin(async (c) =>
      (
        await c.query<{ rolname: string; rolcanlogin: boolean; rolpassword: string | null; until: string | null }>(
          'select rolname, rolcanlogin, rolpassword, rolvaliduntil::text as until from pg_authid where rolname = any($1) order by rolname',
          [roles],
        )
      ).rows.map((r) => ({
        role: r.rolname,
        login: r.rolcanlogin,
        password: r.rolpassword === null ? null : digest(r.rolpassword),
        until: r.until,
      })),
    );
}

/** A Vault database static role: its user, connection, last rotation and a digest of the password Vault hands out. */
export function vaultStaticRoleProbe(vault: NodeVault.client, mount: string, role: string): Probe {
  return async () => {
    const r = (
      (await vault.read(`${mount}/static-roles/${role}`)) as {
        data: { username: string; db_name: string; last_vault_rotation: string; rotation_period: number };
      }
    ).data;
    const creds = (await vault.read(`${mount}/static-creds/${role}`)) as { data: { password: string } };
    return {
      username: r.username,
      connection: r.db_name,
      lastRotation: r.last_vault_rotation,
      rotationPeriod: r.rotation_period,
      password: digest(creds.data.password),
    };
  };
}

/**
 * A Vault database dynamic role: its connection, lifetimes and statements (digested), and the ids
 * of the leases minted from it, so a credential minted by an attacker shows as a new lease.
 */
export function vaultDynamicRoleProbe(vault: NodeVault.client, mount: string, role: string): Probe {
  return async () => {
    const r = (
      (await vault.read(`${mount}/roles/${role}`)) as {
        data: { db_name: string; default_ttl: number; max_ttl: number; creation_statements: string[] };
      }
    ).data;
    // LIST answers 404 while no lease was ever minted from the role.
    const leases = await vault.list(`sys/leases/lookup/${mount}/creds/${role}`).then(
      (l: { data: { keys: string[] } }) => [...l.data.keys].sort(),
      (e: { response?: { statusCode?: number } }) => {
        if (e.response?.statusCode === 404) return [];
        throw e;
      },
    );
    return {
      connection: r.db_name,
      ttl: [r.default_ttl, r.max_ttl],
      creation: digest(r.creation_statements.join('\n')),
      leases,
    };
  };
}

/**
 * Makes each change in turn (out of band, as another writer would) and reports which victims the
 * before/after comparison named for it: each should name exactly its own victim.
 */
export async function reportedChanges(
  probes: Record<string, Probe>,
  changes: Record<string, () => Promise<unknown>>,
): Promise<{ changed: string; reported: string[] }[]> {
  const out: { changed: string; reported: string[] }[] = [];
  for (const [name, change] of Object.entries(changes)) {
    const before = await snapshotVictims(probes);
    await change();
    out.push({ changed: name, reported: changedVictims(changesBetween(before, await snapshotVictims(probes))) });
  }
  return out;
}

/** A Redis ACL user as `ACL GETUSER` shows it: flags, a digest of each password hash, and 'absent' when missing. */
export function redisAclUserProbe(user: string): Probe {
  return async () => {
    const u = await redisUser(user);
    return u ? { flags: [...u.flags].sort(), passwords: u.passwords.map(digest).sort() } : 'absent';
  };
}
