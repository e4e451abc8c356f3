/**
 * Connections to Redis (or Valkey) servers for the `redis-acl-user` credential kind and the
 * `redis-auth` canary: one short-lived connection per use, `AUTH` sent explicitly so a refusal is
 * seen as the server's answer (`WRONGPASS`) and not as a failed connect, TLS verified against the
 * worker's CA. Error texts are redacted of the password used.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { redact } from './redact';

/** Where a Redis connection goes. */
export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
}

/** An ACL user and one of its passwords. */
export interface RedisLogin {
  username: string;
  password: string;
}

/** Settings every connection of the worker shares. */
export interface RedisConnectOptions {
  /** PEM CA bundle TLS servers are verified against; the system CAs when undefined. */
  ca?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** `host:port` (and `(TLS)`) for reports. */
export function describeRedis(t: RedisTarget): string {
  return `${t.host}:${t.port}${t.tls ? ' (TLS)' : ''}`;
}

/** The CA file the worker verifies Redis TLS servers with (ROTOR_REDIS_CACERT), read; undefined when unset. */
export function redisCaFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env['ROTOR_REDIS_CACERT'];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`ROTOR_REDIS_CACERT=${file} cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/** The first word of a Redis error reply (`WRONGPASS`, `NOPERM`, `ERR`), or a Node error code. */
export function redisErrorCode(e: unknown): string | undefined {
  const err = e as Error & { code?: string; name?: string };
  if (err.name === 'ReplyError') return /^[A-Z]+/.exec(err.message)?.[0];
  return typeof err.code === 'string' ? err.code : undefined;
}

/** The server refused the credentials themselves (as opposed to failing to answer). */
export const isAuthRefusal = (e: unknown): boolean => redisErrorCode(e) === 'WRONGPASS';

/**
 * Opens a connection to `t`, authenticates as `login` with an explicit `AUTH`, runs `fn` and
 * always closes the connection. No retries, no offline queue: a failure is reported at once.
 */
export async function withRedisSession<T>(
  t: RedisTarget,
  login: RedisLogin,
  opts: RedisConnectOptions,
  fn: (r: Redis) => Promise<T>,
): Promise<T> {
  const r = new Redis({
    host: t.host,
    port: t.port,
    ...(t.tls ? { tls: { ...(opts.ca ? { ca: opts.ca } : {}), rejectUnauthorized: true } } : {}),
    lazyConnect: true,
    enableReadyCheck: false,
    disableClientInfo: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    connectTimeout: opts.timeoutMs,
    commandTimeout: opts.timeoutMs,
  });
  // A failed connect rejects only with "Connection is closed"; the event carries the cause (e.g. TLS).
  let cause: Error | undefined;
  r.on('error', (e: Error) => (cause ??= e));
  const abort = () => r.disconnect();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (opts.signal?.aborted) throw new Error('cancelled');
    await r.connect();
    await r.call('AUTH', login.username, login.password);
    return await fn(r);
  } catch (e) {
    const err = cause && /connection is closed/i.test((e as Error).message) ? cause : (e as Error);
    err.message = redact(err.message, [login.password]);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    r.disconnect();
  }
}

/** What an `AUTH` + `PING` as one credential produced. `refused` only for the server's `WRONGPASS`. */
export interface RedisAuthOutcome {
  ok: boolean;
  refused: boolean;
  code?: string | undefined;
  /** The server's or the driver's message, with the password redacted. */
  message: string;
}

/** Authenticates as `login` and sends PING. Never throws: the outcome tells a refusal from no answer. */
export async function tryRedisAuth(
  t: RedisTarget,
  login: RedisLogin,
  opts: RedisConnectOptions,
): Promise<RedisAuthOutcome> {
  try {
    const pong = await withRedisSession(t, login, opts, (r) => r.ping());
    return { ok: true, refused: false, message: `PING answered ${pong}` };
  } catch (e) {
    return {
      ok: false,
      refused: isAuthRefusal(e),
      code: redisErrorCode(e),
      message: redact((e as Error).message, [login.password]),
    };
  }
}

/** The identity rotor administers Redis ACL users with, and the CA it verifies TLS servers with. */
export interface RedisAdmin {
  login: RedisLogin;
  ca?: string | undefined;
}

/**
 * The worker's Redis admin identity: ROTOR_REDIS_USERNAME with the password in the file
 * ROTOR_REDIS_PASSWORD_FILE (or, for a shell, ROTOR_REDIS_PASSWORD), and ROTOR_REDIS_CACERT. Read
 * when a Redis credential is used, so a worker without Redis playbooks needs none of it.
 */
export function redisAdminFromEnv(env: NodeJS.ProcessEnv = process.env): RedisAdmin {
  const username = env['ROTOR_REDIS_USERNAME'];
  const file = env['ROTOR_REDIS_PASSWORD_FILE'];
  let password = env['ROTOR_REDIS_PASSWORD'];
  if (file) {
    try {
      password = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new Error(`ROTOR_REDIS_PASSWORD_FILE=${file} cannot be read: ${(e as Error).message}`, { cause: e });
    }
  }
  if (!username || !password)
    throw new Error(
      'the worker has no Redis admin identity: set ROTOR_REDIS_USERNAME and ROTOR_REDIS_PASSWORD_FILE (an ACL user allowed `ACL GETUSER`, `ACL SETUSER` and `ACL SAVE`)',
    );
  return { login: { username, password }, ca: redisCaFromEnv(env) };
}
