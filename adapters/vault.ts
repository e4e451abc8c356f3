import type NodeVault from 'node-vault';
import type { Store } from '../core/playbook/schema';
import { ErrorTypes, permanent } from '../core/failures';
import { vaultFailure, vaultStatus } from './vault-client';
import type { SecretStoreBackend } from './store';
import { holdSecret } from './secret-scope';
import { vaultApiPath } from './vault-path';

type VaultStore = Extract<Store, { type: 'vault' }>;

/**
 * rotor's bookkeeping in the KV v2 entry's custom metadata. KV v2 has no version labels, so
 * "current" is what rotor recorded here (the latest KV version is the pending one during a rotation).
 */
const meta = {
  current: 'rotor-current-version',
  pending: 'rotor-pending-version',
  pendingRun: 'rotor-pending-run',
  previous: 'rotor-previous-version',
  revoked: 'rotor-revoked-versions',
  abandoned: 'rotor-abandoned-versions',
  lastRotation: 'rotor-last-rotation',
  lastOutcome: 'rotor-last-outcome',
} as const;

interface KvMetadata {
  current_version: number;
  custom_metadata: Record<string, string> | null;
  versions: Record<string, { destroyed: boolean; deletion_time: string }>;
}

/** Maps Vault API errors at a KV entry to stable failure types; a 404 means the entry is missing. */
function kvFailure(e: unknown, what: string, s: VaultStore): Error {
  const where = `vault ${s.mount}/${s.path}`;
  return vaultFailure(e, where, what, {
    statuses: [404],
    failure: () =>
      permanent(
        ErrorTypes.secretNotFound,
        `${where}: not found while trying to ${what}; create the secret first or fix spec.secret.store`,
      ),
  });
}

function appendTo(list: string | undefined, item: string): string {
  const items = new Set((list ?? '').split(',').filter(Boolean));
  items.add(item);
  return [...items].join(',');
}

/** Vault KV v2 store: versions are KV version numbers; bookkeeping in custom metadata. */
export function vaultBackend(vault: NodeVault.client): SecretStoreBackend<VaultStore> {
  const metadataPath = (s: VaultStore) => vaultApiPath(s.mount, 'metadata', s.path);

  async function readMetadata(s: VaultStore): Promise<KvMetadata> {
    try {
      const res = (await vault.read(metadataPath(s))) as { data: KvMetadata };
      return res.data;
    } catch (e) {
      throw kvFailure(e, 'read metadata', s);
    }
  }

  async function writeCustom(s: VaultStore, custom: Record<string, string>): Promise<void> {
    try {
      // Vault replaces the whole custom_metadata map, so callers pass the merged map.
      await vault.write(metadataPath(s), { custom_metadata: custom });
    } catch (e) {
      throw kvFailure(e, 'write metadata', s);
    }
  }

  async function readValue(s: VaultStore, version: string): Promise<string> {
    let data: Record<string, unknown> | null;
    try {
      const res = (await vault.read(
        `${vaultApiPath(s.mount, 'data', s.path)}?version=${encodeURIComponent(version)}`,
      )) as {
        data: { data: Record<string, unknown> | null };
      };
      data = res.data.data;
    } catch (e) {
      throw kvFailure(e, `read version ${version}`, s);
    }
    // Every string field of the entry may be secret, not only the rotated one.
    for (const v of Object.values(data ?? {})) if (typeof v === 'string') holdSecret(v);
    const value = data?.[s.key];
    if (typeof value !== 'string') {
      throw permanent(
        ErrorTypes.secretNotFound,
        `vault ${s.mount}/${s.path} version ${version} has no string field '${s.key}' (deleted or destroyed?)`,
      );
    }
    return value;
  }

  function currentOf(m: KvMetadata): string {
    return m.custom_metadata?.[meta.current] ?? String(m.current_version);
  }

  return {
    readValue,

    async plan(s) {
      const m = await readMetadata(s);
      const currentVersion = currentOf(m);
      const custom = m.custom_metadata ?? {};
      return {
        currentVersion,
        currentValue: await readValue(s, currentVersion),
        previousVersion: custom[meta.previous] ?? null,
        stalePendingVersion: custom[meta.pending] ?? null,
      };
    },

    async createPending(s, rotation, currentVersion, value) {
      const m = await readMetadata(s);
      const custom = { ...(m.custom_metadata ?? {}) };
      let target = Number(custom[meta.pending]);
      if (custom[meta.pendingRun] === rotation.runId && m.current_version >= target) return String(target);
      if (custom[meta.pendingRun] !== rotation.runId) {
        const stale = custom[meta.pending];
        if (stale) custom[meta.abandoned] = appendTo(custom[meta.abandoned], stale);
        // Record the intent first: a retry after a lost write response can then tell its own version.
        target = m.current_version + 1;
        await writeCustom(s, {
          ...custom,
          [meta.current]: currentVersion,
          [meta.pending]: String(target),
          [meta.pendingRun]: rotation.runId,
        });
      }
      try {
        // Check-and-set on the latest version: a concurrent writer makes this fail instead of racing.
        await vault.write(vaultApiPath(s.mount, 'data', s.path), {
          data: { [s.key]: await value() },
          options: { cas: target - 1 },
        });
      } catch (e) {
        if (vaultStatus(e) === 400) {
          throw permanent(
            ErrorTypes.conflict,
            `vault ${s.mount}/${s.path}: changed by another writer during the rotation (check-and-set on version ${target - 1} failed); retry the rotation`,
          );
        }
        throw kvFailure(e, 'write the new version', s);
      }
      return String(target);
    },

    async runVersion(s, rotation) {
      const m = await readMetadata(s);
      const v = m.custom_metadata?.[meta.pendingRun] === rotation.runId ? m.custom_metadata[meta.pending] : undefined;
      return v && m.versions[v] && !m.versions[v].destroyed ? v : null;
    },

    async discardPending(s, { rotation, currentVersion, previousVersion }) {
      const m = await readMetadata(s);
      const custom = { ...(m.custom_metadata ?? {}) };
      // Only this run's version is ever discarded; a run that never recorded one has nothing to undo.
      const pendingVersion = custom[meta.pendingRun] === rotation.runId ? custom[meta.pending] : undefined;
      if (!pendingVersion) return;
      if (m.versions[pendingVersion] && !m.versions[pendingVersion].destroyed) {
        try {
          await vault.write(vaultApiPath(s.mount, 'destroy', s.path), { versions: [Number(pendingVersion)] });
        } catch (e) {
          throw kvFailure(e, `destroy version ${pendingVersion}`, s);
        }
      }
      delete custom[meta.pending];
      delete custom[meta.pendingRun];
      if (previousVersion) custom[meta.previous] = previousVersion;
      else delete custom[meta.previous];
      // A version number the KV entry never reached (intent recorded, write lost) is not listed as abandoned.
      const abandoned = m.versions[pendingVersion]
        ? appendTo(custom[meta.abandoned], pendingVersion)
        : custom[meta.abandoned];
      await writeCustom(s, {
        ...custom,
        [meta.current]: currentVersion,
        ...(abandoned ? { [meta.abandoned]: abandoned } : {}),
      });
    },

    async promote(s, { pendingVersion, currentVersion }) {
      const m = await readMetadata(s);
      const custom = { ...(m.custom_metadata ?? {}) };
      if (custom[meta.current] === pendingVersion) return;
      await writeCustom(s, { ...custom, [meta.current]: pendingVersion, [meta.previous]: currentVersion });
    },

    async demote(s, { currentVersion, previousVersion }) {
      const m = await readMetadata(s);
      const custom = { ...(m.custom_metadata ?? {}) };
      if (previousVersion) custom[meta.previous] = previousVersion;
      else delete custom[meta.previous];
      await writeCustom(s, { ...custom, [meta.current]: currentVersion });
    },

    async revoke(s, { revokedVersion }) {
      const m = await readMetadata(s);
      const custom = { ...(m.custom_metadata ?? {}) };
      await writeCustom(s, { ...custom, [meta.revoked]: appendTo(custom[meta.revoked], revokedVersion) });
    },

    async finalize(s, { rotation, outcome }) {
      const m = await readMetadata(s);
      const custom = { ...(m.custom_metadata ?? {}) };
      if (custom[meta.pendingRun] === rotation.runId) {
        delete custom[meta.pendingRun];
        delete custom[meta.pending];
      }
      await writeCustom(s, { ...custom, [meta.lastRotation]: rotation.runId, [meta.lastOutcome]: outcome });
    },
  };
}
