/**
 * Private instances of the stack's real services for fault injection: own ports, own state under a
 * temporary directory, started from the stack's cached binaries. Tests kill, freeze and restart
 * these, never the shared stack's processes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { devCredentials, stackPaths } from '../../dev/local-stack/config';
import { motoVenv } from '../../dev/local-stack/services/moto';
import { initPostgres, postgresArgs, runAs, serverBinDir } from '../../dev/local-stack/services/postgres';
import { resolveBinary as resolveVaultBinary } from '../../dev/local-stack/services/vault';
import { unsealVault, vaultServerArgs } from '../../dev/local-stack/services/vault-server';
import { devServerArgs, temporalBinary } from '../../dev/local-stack/services/temporal';
import { probe } from '../../dev/local-stack/process';

/** A free loopback port (the kernel's choice). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** One private server process that a test may SIGKILL, freeze and start again with the same state. */
export interface PrivateService {
  /** What clients use: `host:port` or a URL. */
  readonly address: string;
  readonly pid: number | undefined;
  /** Starts the process (again) and waits until `ready` says so. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown; state is whatever reached disk. Resolves once it is gone. */
  kill(): Promise<void>;
  /** Sends `signal` (the service's own shutdown, e.g. SIGINT for PostgreSQL's fast shutdown); resolves once it is gone. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the port stays open but nothing answers (a hung service). */
  freeze(): void;
  thaw(): void;
  /** The last lines of its log, for failure messages. */
  logTail(): string;
}

export interface ProcessSpec {
  address: string;
  command: string;
  args: string[];
  logFile: string;
  /** Resolves true once the service answers. */
  ready: () => Promise<boolean>;
  /** After `ready`, e.g. unsealing. */
  afterStart?: () => Promise<void>;
  startTimeoutMs?: number;
  /** Run as this user (PostgreSQL refuses root). */
  runAs?: { uid: number; gid: number } | undefined;
}

/** A private service from a spec; not started yet. */
export function privateProcess(spec: ProcessSpec): PrivateService {
  let child: ChildProcess | undefined;
  const logTail = () => {
    try {
      return readFileSync(spec.logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };
  return {
    address: spec.address,
    get pid() {
      return child?.pid;
    },
    async start() {
      const fd = openSync(spec.logFile, 'a');
      const c = spawn(spec.command, spec.args, { stdio: ['ignore', fd, fd], ...spec.runAs });
      closeSync(fd);
      child = c;
      live.add(c);
      c.once('exit', () => live.delete(c));
      const deadline = Date.now() + (spec.startTimeoutMs ?? 60_000);
      while (!(await spec.ready().catch(() => false))) {
        if (c.exitCode !== null) throw new Error(`${spec.command} exited (${c.exitCode}):\n${logTail()}`);
        if (Date.now() > deadline) throw new Error(`${spec.command} did not get ready in time:\n${logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await spec.afterStart?.();
    },
    async stop(signal) {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGCONT');
      c.kill(signal);
      await gone;
    },
    kill() {
      return this.stop('SIGKILL');
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    logTail,
  };
}

const ctx = { paths: stackPaths(), log: () => undefined };

/** A private Temporal dev server (headless) on its own ports with its SQLite file in `dir`. */
export async function privateTemporal(dir: string): Promise<PrivateService> {
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  return privateProcess({
    address,
    command: await temporalBinary(ctx),
    args: devServerArgs({ dbFile: join(dir, 'temporal.db'), port, httpPort, metricsPort }),
    logFile: join(dir, 'temporal.log'),
    // The HTTP API answers once the frontend serves the default namespace.
    ready: async () => (await probe(`http://127.0.0.1:${httpPort}/api/v1/namespaces/default`)) === 200,
  });
}

/** A private moto server (in memory, like the stack's) from the stack's virtualenv. */
export async function privateMoto(dir: string): Promise<PrivateService> {
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  return privateProcess({
    address,
    command: join(motoVenv(ctx), 'bin', 'moto_server'),
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logFile: join(dir, 'moto.log'),
    ready: async () => (await probe(`${address}/moto-api/data.json`)) === 200,
  });
}

/** A TCP proxy in front of a service that a test can cut (connections reset, new ones refused) and restore. */
export interface CutProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /** Unreachable: open connections are reset and the port refuses new ones. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A proxy on a free loopback port forwarding to `target` (`host:port`). */
export async function cutProxy(target: { host: string; port: number }): Promise<CutProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((inbound) => {
        const outbound = connect(target.port, target.host);
        for (const [a, b] of [
          [inbound, outbound],
          [outbound, inbound],
        ] as const) {
          sockets.add(a);
          a.pipe(b);
          a.on('error', () => b.destroy());
          a.on('close', () => (sockets.delete(a), b.destroy()));
        }
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const c of sockets) c.resetAndDestroy();
    if (s) await new Promise((r) => s.close(r));
  };
  await listen();
  return { url: `http://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

/** A private Vault with the stack's persistent configuration (file storage in `dir`), unsealed on every start. */
export async function privateVault(dir: string): Promise<PrivateService> {
  const spec = { dir: join(dir, 'vault'), port: await freePort() };
  const address = `http://127.0.0.1:${spec.port}`;
  return privateProcess({
    address,
    command: await resolveVaultBinary(ctx),
    args: vaultServerArgs(spec),
    logFile: join(dir, 'vault.log'),
    // Answers (sealed or not) once listening; `afterStart` unseals it as the stack does.
    ready: async () => (await probe(`${address}/v1/sys/seal-status`)) === 200,
    afterStart: () => unsealVault(spec),
  });
}

/** Superuser connection settings of a private PostgreSQL (the stack's user and password). */
export interface PostgresAddress {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** A private PostgreSQL (Debian's server binaries, the stack's superuser) with its data in `dir`. */
export async function privatePostgres(dir: string): Promise<PrivateService & { connection: PostgresAddress }> {
  const bin = serverBinDir();
  if (!bin) throw new Error("PostgreSQL server binaries missing: run 'dev/stack up postgres' to install them");
  // The server runs as `postgres` when the test runs as root: it must reach its directory.
  chmodSync(dir, 0o711);
  const spec = { base: join(dir, 'postgres'), port: await freePort() };
  await initPostgres(bin, spec);
  const connection = {
    host: '127.0.0.1',
    port: spec.port,
    user: devCredentials.postgresUser,
    password: devCredentials.postgresPassword,
  };
  const service = privateProcess({
    address: `${connection.host}:${connection.port}`,
    command: join(bin, 'postgres'),
    args: postgresArgs(spec),
    logFile: join(dir, 'postgres.log'),
    runAs: runAs(),
    ready: async () => {
      const c = new pg.Client({ ...connection, database: 'postgres', connectionTimeoutMillis: 2_000 });
      try {
        await c.connect();
        await c.query('select 1');
        return true;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  });
  return Object.assign(service, { connection });
}
