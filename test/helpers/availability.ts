import { useStackEnv } from './stack-env';

/**
 * Whether the stack's Vault answers sys/health with 200 (initialized, unsealed, active). Tests that
 * need Vault skip themselves when it is down instead of failing on an unrelated service.
 */
export async function vaultIsHealthy(): Promise<boolean> {
  const addr = useStackEnv()['VAULT_ADDR'];
  const res = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return res?.status === 200;
}
