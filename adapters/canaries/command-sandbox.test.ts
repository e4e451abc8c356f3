/**
 * Command canaries from the position of a playbook author who wants more than the credential:
 * each attack runs once in the bubblewrap sandbox (refused) and once as the worker's own user
 * (`commandSandbox.type: none`, where it succeeds), so every check is shown able to fail.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck, sandboxStatus } from '.';
import type { Canary } from '../../core/playbook/schema';
import { canarySchema } from '../../core/playbook/schema';
import type { CommandSandboxSettings } from '../../core/policy/schema';
import { sandboxFix } from '../../core/policy/rules/command-sandbox';

const credential = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';
const never = new AbortController().signal;
const sandboxed: CommandSandboxSettings = { type: 'bubblewrap', readOnlyPaths: [] };
const bare: CommandSandboxSettings = { type: 'none', readOnlyPaths: [] };
const token = `${process.pid}${Date.now()}`;

const canary = (command: string[], timeout = '20s'): Canary =>
  canarySchema.parse({ type: 'command', name: 'probe', command, timeout });
const run = (command: string[], sandbox: CommandSandboxSettings, timeout?: string) =>
  runCanaryCheck(canary(command, timeout), credential, never, { commandSandbox: sandbox });

/** Host pids whose argv is exactly `argv` (the canaries' own processes carry other argv). */
function pidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function gone(argv: string[], withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (pidsRunning(argv).length > 0) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('the command-canary sandbox', () => {
  // A process of the worker's user holding a secret in its environment, as the worker holds VAULT_TOKEN.
  const workerSecret = `worker-secret-${token}`;
  let worker: ChildProcess;
  let home: string;
  let loopback: Server;
  let port = 0;

  beforeAll(async () => {
    worker = spawn('sleep', ['600'], { env: { PATH: process.env['PATH'], ROTOR_TEST_TOKEN: workerSecret } });
    home = mkdtempSync(join(homedir(), '.rotor-sandbox-test-'));
    writeFileSync(join(home, 'key'), 'not-for-canaries\n', { mode: 0o644 });
    // World-writable: only the sandbox, not file modes, keeps a canary out.
    chmodSync(home, 0o777);
    loopback = createServer((s) => s.end());
    await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', r));
    port = (loopback.address() as AddressInfo).port;
  });
  afterAll(() => {
    worker.kill('SIGKILL');
    loopback.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('can be created on this machine (bubblewrap is installed by dev/stack up and npm test)', async () => {
    expect(await sandboxStatus(sandboxed), `command canaries need the sandbox: ${sandboxFix}`).toEqual({
      usable: true,
    });
  });

  it('gives an honest canary the credential on stdin, as uid 65534', async () => {
    expect(await run(['sh', '-c', `test "$(cat)" = ${credential}`], sandboxed)).toEqual({ ok: true, detail: 'exit 0' });
    expect(await run(['grep', '-qE', '^[[:alnum:]]{40}$'], sandboxed)).toEqual({ ok: true, detail: 'exit 0' });
    expect((await run(['sh', '-c', 'test "$(id -u)" = 65534'], sandboxed)).ok).toBe(true);
    expect((await run(['sh', '-c', 'test "$(id -u)" = 65534'], bare)).ok).toBe(process.getuid?.() === 65534);
  });

  it('runs as uid 65534 on the host too, not only inside its user namespace', async () => {
    const argv = ['sleep', `${90_000 + (Date.now() % 100_000)}`];
    const stop = new AbortController();
    const running = runCanaryCheck(canary(argv), credential, stop.signal, { commandSandbox: sandboxed });
    try {
      while (pidsRunning(argv).length === 0) await new Promise((r) => setTimeout(r, 20));
      const [pid] = pidsRunning(argv);
      const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      expect(uids?.slice(1)).toEqual(
        process.getuid?.() === 0 ? ['65534', '65534'] : [String(process.getuid?.()), String(process.getuid?.())],
      );
    } finally {
      stop.abort();
      expect((await running).ok).toBe(false);
    }
    expect(await gone(argv, 5000)).toBe(true);
  });

  const attacks: { attack: string; argv: () => string[] }[] = [
    {
      attack: "reads the worker's environment through /proc/<pid>/environ",
      argv: () => ['sh', '-c', `grep -qa ${workerSecret} /proc/${worker.pid}/environ`],
    },
    {
      attack: "finds the worker's environment anywhere in /proc (its parent's included)",
      argv: () => ['sh', '-c', `cat /proc/$PPID/environ /proc/[0-9]*/environ 2>/dev/null | grep -qa ${workerSecret}`],
    },
    {
      attack: 'reads a key file under $HOME, world-readable',
      argv: () => ['cat', join(home, 'key')],
    },
    {
      attack: 'writes a file outside /tmp, into a world-writable directory',
      argv: () => ['sh', '-c', `echo x > ${join(home, 'escaped')}`],
    },
    {
      attack: 'reaches a service on the loopback address (as the stack serves Vault, Temporal, moto)',
      argv: () => ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`],
    },
  ];

  it.each(attacks)('refuses a canary that $attack (which works without the sandbox)', async ({ argv }) => {
    expect((await run(argv(), bare)).ok).toBe(true);
    rmSync(join(home, 'escaped'), { force: true });
    const out = await run(argv(), sandboxed);
    expect(out.ok).toBe(false);
    expect(existsSync(join(home, 'escaped'))).toBe(false);
  });

  it("sees none of the worker host's key, kubeconfig or state paths", async () => {
    const secretPaths = [
      home,
      '/var/lib/rotor',
      '/var/lib/rotor/keys',
      process.env['KUBECONFIG'] ?? join(homedir(), '.kube', 'config'),
      homedir(),
      '/root',
      '/etc/shadow',
      '/etc/passwd',
    ].filter((p) => existsSync(p));
    expect(secretPaths).toContain(home);
    const all = ['sh', '-c', 'for p; do test -e "$p" || exit 1; done', 'probe', ...secretPaths];
    const none = ['sh', '-c', 'for p; do test -e "$p" && exit 1; done; exit 0', 'probe', ...secretPaths];
    // As the worker's user every one of them is there; in the sandbox not one.
    expect((await run(all, bare)).ok).toBe(true);
    expect((await run(none, bare)).ok).toBe(false);
    expect(await run(none, sandboxed)).toEqual({ ok: true, detail: 'exit 0' });
  });

  it('has no network: the cloud metadata address is unreachable', async () => {
    const out = await run(['bash', '-c', 'exec 3<>/dev/tcp/169.254.169.254/80'], sandboxed);
    expect(out.ok).toBe(false);
    expect(out.detail).toContain('Network is unreachable');
  });

  it('cannot write its read-only root, and its /tmp is its own', async () => {
    const tmpName = `/tmp/rotor-sandbox-${token}`;
    expect((await run(['sh', '-c', 'touch /usr/x || touch /etc/x || touch /x'], sandboxed)).ok).toBe(false);
    expect(await run(['sh', '-c', `echo x > ${tmpName} && test -s ${tmpName}`], sandboxed)).toEqual({
      ok: true,
      detail: 'exit 0',
    });
    expect(existsSync(tmpName)).toBe(false);
  });

  it('kills every process the canary started at its timeout, a detached one too', async () => {
    // A unique argv, so the test can look for this very process on the host.
    const survivor = ['sleep', `${86_400 + (Date.now() % 100_000)}`];
    const escape = ['sh', '-c', `setsid ${survivor.join(' ')} </dev/null >/dev/null 2>&1 & sleep 60`];
    try {
      const bareOut = await run(escape, bare, '1s');
      expect(bareOut.detail).toMatch(/^sh timed out after 1000ms \(killed with its process group\)/);
      // Without the sandbox the detached child outlives the kill of the process group.
      expect(pidsRunning(survivor).length).toBe(1);
      for (const pid of pidsRunning(survivor)) process.kill(pid, 'SIGKILL');
      expect(await gone(survivor, 5000)).toBe(true);

      const out = await run(escape, sandboxed, '1s');
      expect(out.detail).toMatch(/^sh timed out after 1000ms \(killed with its sandbox\)/);
      expect(await gone(survivor, 5000)).toBe(true);
    } finally {
      for (const pid of pidsRunning(survivor)) process.kill(pid, 'SIGKILL');
    }
  });

  it('refuses to run a command canary bare where bubblewrap is missing, naming what to install', async () => {
    const out = await runCanaryCheck(canary(['true']), credential, never, {
      commandSandbox: sandboxed,
      bwrap: '/nonexistent/bwrap',
    });
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(
      /^command canary 'probe' must run in the bubblewrap sandbox, which this worker cannot create \(bwrap is not installed.*\): install the Debian package bubblewrap/,
    );
  });
});
