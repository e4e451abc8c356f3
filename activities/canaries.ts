import { spawn } from 'node:child_process';
import type { Canary } from '../playbooks/schema';
import { redact } from './redact';

type CommandCanary = Extract<Canary, { type: 'command' }>;
type HttpCanary = Extract<Canary, { type: 'http' }>;

export interface CanaryOutcome {
  ok: boolean;
  detail: string;
}

/** Runs a hook with the credential on stdin only (argv and env are visible to other processes). */
function runCommand(c: CommandCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  return new Promise((resolve) => {
    const [cmd, ...args] = c.command as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], signal, timeout: c.timeout, killSignal: 'SIGKILL' });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => resolve({ ok: false, detail: `could not run ${cmd}: ${e.message}` }));
    child.on('close', (code, sig) => {
      if (code === 0) resolve({ ok: true, detail: 'exit 0' });
      else {
        const why = sig ? `killed by ${sig}${sig === 'SIGKILL' ? ` (timeout ${c.timeout}ms?)` : ''}` : `exit ${code}`;
        resolve({ ok: false, detail: `${cmd} ${why}: ${redact(output.trim(), [credential]).slice(-500)}` });
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(credential);
  });
}

async function runHttp(c: HttpCanary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
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

/** Runs one canary check with the credential; the outcome's detail never contains it. */
export function runCanaryCheck(c: Canary, credential: string, signal: AbortSignal): Promise<CanaryOutcome> {
  switch (c.type) {
    case 'command':
      return runCommand(c, credential, signal);
    case 'http':
      return runHttp(c, credential, signal);
  }
}
