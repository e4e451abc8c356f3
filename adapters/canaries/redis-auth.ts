import type { Canary } from '../../core/playbook/schema';
import { parseUserPassword } from '../credentials/values';
import { redisCaFromEnv, tryRedisAuth } from '../redis';
import type { CanaryOutcome } from './outcome';

type RedisAuthCanary = Extract<Canary, { type: 'redis-auth' }>;

/**
 * `AUTH <user> <password>` with the credential JSON `{"username","password"}`, then `PING`, on the
 * canary's server; TLS servers are verified against `ca` (the worker's ROTOR_REDIS_CACERT by default).
 */
export async function runRedisAuth(
  c: RedisAuthCanary,
  credential: string,
  signal: AbortSignal,
  ca?: string,
): Promise<CanaryOutcome> {
  let login;
  try {
    login = parseUserPassword(credential, 'the credential');
    ca ??= redisCaFromEnv();
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
  const out = await tryRedisAuth(c, login, {
    ca,
    timeoutMs: c.timeout,
    signal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
  });
  if (out.ok) return { ok: true, detail: `AUTH as '${login.username}', ${out.message}` };
  return { ok: false, detail: `AUTH as '${login.username}' on ${c.host}:${c.port}: ${out.message}` };
}
