import { spawn } from 'node:child_process';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Canary } from '../../core/playbook/schema';
import { tryMariadbLogin } from '../credentials/mariadb-login';
import { tryPostgresLogin } from '../credentials/postgres';
import type { LoginOutcome } from '../credentials/login-proof';
import { parseAccessKeyPair, parseUserPassword } from '../credentials/values';
import type { UserPassword } from '../credentials/values';
import { guardedRequest } from '../guarded-http';
import { redact, redactTail } from '../redact';
import type { CanaryOutcome } from './outcome';

type CommandCanary = Extract<Canary, { type: 'command' }>;
type HttpCanary = Extract<Canary, { type: 'http' }>;
type PostgresLoginCanary = Extract<Canary, { type: 'postgres-login' }>;
type MariadbLoginCanary = Extract<Canary, { type: 'mariadb-login' }>;
type AwsStsCanary = Extract<Canary, { type: 'aws-sts' }>;

/** The only worker variables a command hook sees: never VAULT_TOKEN, AWS keys, PGPASSWORD or rotor's keys. */
export function scrubbedEnv(allowed: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const names = new Set(['PATH', 'HOME', 'LANG', 'TZ', ...allowed]);
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => names.has(k) && v !== undefined));
}

/**
 * Runs a hook with the credential on stdin only (argv and env are visible to other processes), in
 * a scrubbed environment: the hook does not inherit the worker's identities.
 */
export function runCommand(
  c: CommandCanary,
  credential: string,
  signal: AbortSignal,
  commandEnv?: readonly string[],
): Promise<CanaryOutcome> {
  return new Promise((resolve) => {
    const [cmd, ...args] = c.command as [string, ...string[]];
    const child = spawn(cmd, args, {
      env: scrubbedEnv(commandEnv),
      stdio: ['pipe', 'pipe', 'pipe'],
      signal,
      timeout: c.timeout,
      killSignal: 'SIGKILL',
    });
    let output = '';
    let cut = false;
    // Keep a bounded tail; the cut is remembered so redaction drops what a split secret left there.
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 8000) [output, cut] = [output.slice(-8000), true];
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => resolve({ ok: false, detail: `could not run ${cmd}: ${e.message}` }));
    child.on('close', (code, sig) => {
      if (code === 0) resolve({ ok: true, detail: 'exit 0' });
      else {
        const why = sig ? `killed by ${sig}${sig === 'SIGKILL' ? ` (timeout ${c.timeout}ms?)` : ''}` : `exit ${code}`;
        resolve({
          ok: false,
          detail: `${cmd} ${why}: ${redactTail(output.trim(), [credential], 500, cut ? 'start' : undefined)}`,
        });
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(credential);
  });
}

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
  const target = { host: c.host, port: c.port, database: c.database };
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
