import { spawn } from 'node:child_process';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Canary } from '../../core/playbook/schema';
import { tryPostgresLogin } from '../credentials/postgres';
import { parseAccessKeyPair, parseUserPassword } from '../credentials/values';
import { redact, redactTail } from '../redact';
import type { CanaryOutcome } from './outcome';

type CommandCanary = Extract<Canary, { type: 'command' }>;
type HttpCanary = Extract<Canary, { type: 'http' }>;
type PostgresLoginCanary = Extract<Canary, { type: 'postgres-login' }>;
type AwsStsCanary = Extract<Canary, { type: 'aws-sts' }>;

/** Runs a hook with the credential on stdin only (argv and env are visible to other processes). */
export function runCommand(c: CommandCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  return new Promise((resolve) => {
    const [cmd, ...args] = c.command as [string, ...string[]];
    const child = spawn(cmd, args, {
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

export async function runHttp(c: HttpCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  const timeout = AbortSignal.timeout(c.timeout);
  try {
    const res = await fetch(c.url, {
      method: c.method,
      headers: { [c.header]: c.valueTemplate.replace('{credential}', credential) },
      signal: AbortSignal.any([signal, timeout]),
    });
    await res.body?.cancel();
    return res.status === c.expectStatus
      ? { ok: true, detail: `HTTP ${res.status}` }
      : { ok: false, detail: `${c.method} ${c.url} answered ${res.status}, expected ${c.expectStatus}` };
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

export async function runPostgresLogin(
  c: PostgresLoginCanary,
  credential: string,
  signal: AbortSignal,
): Promise<CanaryOutcome> {
  const cred = parsed(() => parseUserPassword(credential, 'the credential'));
  if ('ok' in cred) return cred;
  const target = { host: c.host, port: c.port, database: c.database };
  const started = Date.now();
  const out = await tryPostgresLogin(target, cred, {
    query: c.query,
    timeoutMs: c.timeout,
    signal: AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]),
  });
  if (out.ok) return { ok: true, detail: `logged in as '${cred.username}', query returned ${out.message}` };
  const timedOut = Date.now() - started >= c.timeout ? ` (timeout ${c.timeout}ms)` : '';
  return { ok: false, detail: `as '${cred.username}': ${out.code ?? 'error'} ${out.message}${timedOut}` };
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
