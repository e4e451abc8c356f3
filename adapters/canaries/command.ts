import { spawn } from 'node:child_process';
import type { Canary } from '../../core/playbook/schema';
import type { CommandSandboxSettings } from '../../core/policy/schema';
import { redactTail } from '../redact';
import type { CanaryOutcome } from './outcome';
import { sandboxFix, sandboxUnavailable } from '../../core/policy/rules/command-sandbox';
import { bubblewrapInvocation, sandboxEnv, sandboxStatus } from './sandbox';
import type { Invocation } from './sandbox';

type CommandCanary = Extract<Canary, { type: 'command' }>;

/** Where and with what a command hook runs; all of it from the admin policy, none from the playbook. */
export interface CommandOptions {
  /** Variables the hook gets besides PATH, HOME, LANG and TZ (the policy's `canaryEnv`). */
  env?: readonly string[] | undefined;
  /** The policy's `commandSandbox`. */
  sandbox: CommandSandboxSettings;
  /** The bwrap program; tests name a missing one. */
  bwrap?: string | undefined;
}

/** The only worker variables a command hook sees: never VAULT_TOKEN, AWS keys, PGPASSWORD or rotor's keys. */
export function scrubbedEnv(allowed: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const names = new Set(['PATH', 'HOME', 'LANG', 'TZ', ...allowed]);
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => names.has(k) && v !== undefined));
}

/**
 * Runs a hook with the credential on stdin only (argv and env are visible to other processes), in
 * a scrubbed environment, in the bubblewrap sandbox unless the policy says `none`. At its timeout
 * or on cancellation the hook is killed with its process group, and in the sandbox with every
 * process it started (its pid namespace ends).
 */
export async function runCommand(
  c: CommandCanary,
  credential: string,
  signal: AbortSignal,
  opts: CommandOptions,
): Promise<CanaryOutcome> {
  const sandboxed = opts.sandbox.type === 'bubblewrap';
  const env = scrubbedEnv(opts.env);
  if (sandboxed) {
    const status = await sandboxStatus(opts.sandbox, { bwrap: opts.bwrap });
    if (!status.usable) return { ok: false, detail: `${sandboxUnavailable(c.name, status.reason)}: ${sandboxFix}` };
  }
  const [cmd, ...args] = c.command as [string, ...string[]];
  const run: Invocation = sandboxed
    ? bubblewrapInvocation(opts.sandbox, c.command, { bwrap: opts.bwrap })
    : { file: cmd, args };
  return spawnHook(run, cmd, c.timeout, credential, signal, {
    env: sandboxed ? sandboxEnv(env) : env,
    // uid 65534 may not enter the worker's directory; the sandbox starts in its own /tmp anyway.
    cwd: sandboxed ? '/' : undefined,
    killed: sandboxed ? 'its sandbox' : 'its process group',
  });
}

function spawnHook(
  { file, args }: Invocation,
  cmd: string,
  timeout: number,
  credential: string,
  signal: AbortSignal,
  how: { env: NodeJS.ProcessEnv; cwd: string | undefined; killed: string },
): Promise<CanaryOutcome> {
  return new Promise((resolve) => {
    // Its own process group, so the timeout kills what it forked too, not only the hook.
    const child = spawn(file, args, {
      env: how.env,
      ...(how.cwd ? { cwd: how.cwd } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let timedOut = false;
    const killAll = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killAll();
    }, timeout);
    signal.addEventListener('abort', killAll, { once: true });
    if (signal.aborted) killAll();
    let output = '';
    let cut = false;
    // Keep a bounded tail; the cut is remembered so redaction drops what a split secret left there.
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 8000) [output, cut] = [output.slice(-8000), true];
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const done = (o: CanaryOutcome) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', killAll);
      resolve(o);
    };
    child.on('error', (e) => done({ ok: false, detail: `could not run ${cmd}: ${e.message}` }));
    child.on('close', (code, sig) => {
      if (code === 0 && !timedOut) return done({ ok: true, detail: 'exit 0' });
      const why = timedOut
        ? `timed out after ${timeout}ms (killed with ${how.killed})`
        : sig
          ? `killed by ${sig}`
          : `exit ${code}`;
      done({
        ok: false,
        detail: `${cmd} ${why}: ${redactTail(output.trim(), [credential], 500, cut ? 'start' : undefined)}`,
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(credential);
  });
}
