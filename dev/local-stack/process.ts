import { spawn, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'node:net';
import type { StackContext } from './service';

/** A process the stack started: its pid file is `<runDir>/<id>.pid`, its log `<logDir>/<id>.log`. */
export interface ManagedProcess {
  id: string;
  pid: number;
  logFile: string;
}

export function logFileOf(ctx: StackContext, id: string): string {
  return join(ctx.paths.logDir, `${id}.log`);
}

function pidFileOf(ctx: StackContext, id: string): string {
  return join(ctx.paths.runDir, `${id}.pid`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is not running.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The pid recorded for `id`, when that process is still running. */
export function runningPid(ctx: StackContext, id: string): number | undefined {
  const file = pidFileOf(ctx, id);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Every process id the stack has a pid file for (running or not). */
export function recordedProcessIds(ctx: StackContext): string[] {
  if (!existsSync(ctx.paths.runDir)) return [];
  return readdirSync(ctx.paths.runDir)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => f.slice(0, -'.pid'.length));
}

/** Which process listens on a TCP port, as "name (pid N)", from /proc; undefined when unknown. */
export function portOwner(port: number): string | undefined {
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    if (m) return `${m[1]} (pid ${m[2]})`;
    if (out.trim()) return 'an unknown process';
  } catch {
    // ss missing: fall through to a connect probe by the caller.
  }
  return undefined;
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = healthProbeTimeoutMs): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Fails with a message naming the port and its owner when a port the stack needs is taken. */
export async function ensurePortFree(port: number, forService: string): Promise<void> {
  if (await portOpen(port)) {
    const owner = portOwner(port) ?? 'another process';
    throw new Error(
      `${forService}: port ${port} is already in use by ${owner}. Stop that process, or run 'dev/stack down' if it is a stale rotor stack.`,
    );
  }
}

/**
 * Starts a detached process whose output goes to its log file and records its pid, so that
 * `down` stops exactly the processes the stack started. Returns the running one when `id` is up.
 */
export function startProcess(
  ctx: StackContext,
  id: string,
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; uid?: number; gid?: number } = {},
): ManagedProcess {
  const logFile = logFileOf(ctx, id);
  const existing = runningPid(ctx, id);
  if (existing !== undefined) return { id, pid: existing, logFile };
  mkdirSync(ctx.paths.logDir, { recursive: true });
  mkdirSync(ctx.paths.runDir, { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${id}: could not start ${command}`);
  child.unref();
  writeFileSync(pidFileOf(ctx, id), `${child.pid}\n`);
  return { id, pid: child.pid, logFile };
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Starts one of this repository's TypeScript entry points (`script`, relative to the repository
 * root) as a stack process, on the Node.js running the stack, through tsx.
 */
export function startTsxProcess(
  ctx: StackContext,
  id: string,
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): ManagedProcess {
  return startProcess(ctx, id, process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env,
  });
}

/**
 * How long one health probe waits for an answer. Generous: `dev/stack status` runs beside a
 * parallel test run on 2 cores, where a healthy apiserver or Vault can take seconds to answer, and
 * a short bound reported those as unhealthy (seen in a fresh-clone run).
 */
export const healthProbeTimeoutMs = 10_000;

/**
 * An HTTP health probe: the status, or undefined when nothing answers in time. The body is always
 * drained: Node 24's fetch (undici) crashes the process with an internal assertion when a server
 * closes a keep-alive connection whose response body was left unread (moto does).
 */
export async function probe(url: string, init: RequestInit = {}): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(healthProbeTimeoutMs), ...init });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

export function tailOf(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Stops a recorded process by pid (TERM, then KILL after a grace period) and forgets it. */
export async function stopProcess(ctx: StackContext, id: string, graceMs = 10_000): Promise<boolean> {
  const pid = runningPid(ctx, id);
  const file = pidFileOf(ctx, id);
  if (pid === undefined) {
    rmSync(file, { force: true });
    return false;
  }
  // Only signal the process when it is still the command we started (pids get reused).
  try {
    readlinkSync(`/proc/${pid}/exe`);
  } catch {
    rmSync(file, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    // Its ports close only once it is gone: a start right after must not find them taken.
    const killedBy = Date.now() + 5_000;
    while (isAlive(pid) && Date.now() < killedBy) await sleep(50);
  }
  rmSync(file, { force: true });
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` until it returns undefined (healthy) or the deadline passes; then throws with the
 * last reason and the tail of the log so the operator sees why.
 */
export async function waitHealthy(
  name: string,
  check: () => Promise<string | undefined>,
  logFile: string | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | undefined = 'not checked';
  while (Date.now() < deadline) {
    reason = await check().catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
    if (reason === undefined) return;
    await sleep(250);
  }
  const tail = logFile ? `\n--- last lines of ${logFile} ---\n${tailOf(logFile)}` : '';
  throw new Error(`${name} failed its health check after ${Math.round(timeoutMs / 1000)}s: ${reason}${tail}`);
}

/** The command-line arguments (without argv[0]) a running process was started with. */
export function argsOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * True when the recorded process `id` runs with other arguments than `args`: a stack upgraded in
 * place (e.g. more controllers) restarts it rather than keeping the old flags.
 */
export function runsWithOtherArgs(ctx: StackContext, id: string, args: string[]): boolean {
  const pid = runningPid(ctx, id);
  if (pid === undefined) return false;
  const actual = argsOf(pid);
  return actual !== undefined && actual.join('\0') !== args.join('\0');
}
