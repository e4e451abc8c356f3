import type NodeVault from 'node-vault';
import { vaultApiPath } from '../vault-path';

/**
 * Sets up a PKI mount for CA rollovers, idempotently: the secrets engine at `mount` (10-year max
 * TTL) and a leaf `role` issuing from the default issuer, storing what it issues (so revoke can
 * list the old CA's leaves). For the development stack and tests; production mounts are the
 * operator's.
 */
export async function ensureVaultPkiCaMount(vault: NodeVault.client, mount: string, role: string): Promise<void> {
  const mounts = (await vault.read('sys/mounts')) as { data?: Record<string, unknown> };
  if (!(`${mount}/` in (mounts.data ?? {})))
    await vault.write(vaultApiPath('sys', 'mounts', mount), { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await vault.write(vaultApiPath(mount, 'roles', role), {
    allow_any_name: true,
    max_ttl: '24h',
    key_type: 'ec',
    key_bits: 256,
    no_store: false,
    issuer_ref: 'default',
  });
}
