import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Canary } from '../../core/playbook/schema';
import { tryMariadbLogin } from '../credentials/mariadb-login';
import { tryPostgresLogin } from '../credentials/postgres';
import type { LoginOutcome } from '../credentials/login-proof';
import { parseAccessKeyPair, parseUserPassword } from '../credentials/values';
import type { UserPassword } from '../credentials/values';
import { guardedRequest } from '../guarded-http';
import { redact } from '../redact';
import type { CanaryOutcome } from './outcome';
import { postgresTls } from '../credentials/postgres-tls';

type HttpCanary = Extract<Canary, { type: 'http' }>;
type PostgresLoginCanary = Extract<Canary, { type: 'postgres-login' }>;
type MariadbLoginCanary = Extract<Canary, { type: 'mariadb-login' }>;
type AwsStsCanary = Extract<Canary, { type: 'aws-sts' }>;

/**
 * One request with the credential in its header: never to link-local or metadata addresses, and
 * never following a redirect with the credential (a 3xx other than the expected status fails).
 */
export async function runHttp(c: HttpCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  try {
    const res = await guardedRequest(new URL(c.url), {
      method: c.method,
      headers: { [c.header]: c.valueTemplate.replace('{credential}', credential) },
      signal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
    });
    if (res.status === c.expectStatus) return { ok: true, detail: `HTTP ${res.status}` };
    const redirect =
      res.status >= 300 && res.status < 400
        ? ` (a redirect to ${res.location ?? '?'}; rotor does not follow redirects with the credential — point the canary at the final URL)`
        : '';
    return { ok: false, detail: `${c.method} ${c.url} answered ${res.status}, expected ${c.expectStatus}${redirect}` };
  } catch (e) {
    return { ok: false, detail: `${c.method} ${c.url} failed: ${redact((e as Error).message, [credential])}` };
  }
}

/** A stored JSON credential for a canary, or why it is unusable (without quoting it). */
function parsed<T>(parse: () => T): T | CanaryOutcome {
  try {
    return parse();
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/** Logs in with a stored `{"username","password"}` through `login` and runs the canary's query. */
async function runLogin(
  c: PostgresLoginCanary | MariadbLoginCanary,
  credential: string,
  signal: AbortSignal,
  login: (cred: UserPassword, opts: { query: string; timeoutMs: number; signal: AbortSignal }) => Promise<LoginOutcome>,
): Promise<CanaryOutcome> {
  const cred = parsed(() => parseUserPassword(credential, 'the credential'));
  if ('ok' in cred) return cred;
  const started = Date.now();
  const out = await login(cred, {
    query: c.query,
    timeoutMs: c.timeout,
    signal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
  });
  if (out.ok) return { ok: true, detail: `logged in as '${cred.username}', query returned ${out.message}` };
  const timedOut = Date.now() - started >= c.timeout ? ` (timeout ${c.timeout}ms)` : '';
  return { ok: false, detail: `as '${cred.username}': ${out.code ?? 'error'} ${out.message}${timedOut}` };
}

export function runPostgresLogin(
  c: PostgresLoginCanary,
  credential: string,
  signal: AbortSignal,
): Promise<CanaryOutcome> {
  // Beyond this machine only over verified TLS (the canary sends the new credential).
  const target = { host: c.host, port: c.port, database: c.database, ssl: postgresTls(c.host, 'prefer', 'the canary') };
  return runLogin(c, credential, signal, (cred, opts) => tryPostgresLogin(target, cred, opts));
}

/** A MariaDB/MySQL login; without host or port, the worker's ROTOR_MARIADB_HOST/PORT. */
export function runMariadbLogin(
  c: MariadbLoginCanary,
  credential: string,
  signal: AbortSignal,
): Promise<CanaryOutcome> {
  const target = { host: c.host, port: c.port, database: c.database };
  return runLogin(c, credential, signal, (cred, opts) => tryMariadbLogin(target, cred, opts));
}

export async function runAwsSts(c: AwsStsCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  const key = parsed(() => parseAccessKeyPair(credential, 'the credential'));
  if ('ok' in key) return key;
  const sts = new STSClient({
    credentials: key,
    maxAttempts: 2,
    ...(c.region ? { region: c.region } : {}),
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
  });
  try {
    const res = await sts.send(new GetCallerIdentityCommand({}), {
      abortSignal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
    });
    const arn = res.Arn ?? '(no ARN)';
    if (c.expectedArn && arn !== c.expectedArn)
      return { ok: false, detail: `key authenticates as ${arn}, expected ${c.expectedArn}` };
    return { ok: true, detail: `GetCallerIdentity: ${arn}` };
  } catch (e) {
    const err = e as Error;
    return {
      ok: false,
      detail: `GetCallerIdentity failed: ${redact(`${err.name}: ${err.message}`, [key.secretAccessKey, credential])}`,
    };
  } finally {
    sts.destroy();
  }
}
