import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { nativePasswordHash } from '../../../adapters/credentials/mariadb-login';
import { mariadbTlsDir, ports, stackEnv } from '../config';
import { ensureLoopbackPki, loopbackPki } from '../pki';
import { ensurePortFree, healthProbeTimeoutMs, startProcess } from '../process';
import type { StackContext, StackService } from '../service';
import { ensureDebianPackages, which } from '../toolchain';

const run = promisify(execFile);

/** Debian's server binary; `mariadb-install-db` comes with it. */
const serverBin = '/usr/sbin/mariadbd';

function installedVersion(): string {
  if (!existsSync(serverBin)) return 'not installed';
  // "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)"
  const out = execFileSync(serverBin, ['--version'], { encoding: 'utf8' });
  return /Ver (\d+\.\d+\.\d+)/.exec(out)?.[1] ?? out.trim();
}

/** mariadbd need not run as root; as root the stack runs it as Debian's `mysql` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'mysql'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Where the server keeps everything: data, socket, pid file and its start-up SQL. */
export function mariadbBase(ctx: StackContext): string {
  return join(ctx.paths.stateDir, 'mariadb');
}

/** rotor's admin account as the stack's environment names it; the password from the stack's key file. */
export function stackMariadbAdmin(ctx: StackContext): { user: string; password: string } {
  const env = stackEnv(ctx.paths);
  const file = env['ROTOR_MARIADB_PASSWORD_FILE'] ?? '';
  return { user: env['ROTOR_MARIADB_USER'] ?? 'rotor', password: readFileSync(file, 'utf8').trim() };
}

/**
 * SQL the server runs at every start (`--init-file`): rotor's admin account, with the password of
 * the stack's key (as its hash only), able to administer users and end their sessions. A key that
 * changed takes effect at the next start.
 */
function initSql(ctx: StackContext): string {
  const { user, password } = stackMariadbAdmin(ctx);
  const account = `'${user}'@'%'`;
  return [
    `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY PASSWORD '${nativePasswordHash(password)}';`,
    `ALTER USER ${account} IDENTIFIED BY PASSWORD '${nativePasswordHash(password)}' ACCOUNT UNLOCK;`,
    // The stack's tests also create the users rotor rotates, with their grants: everything here.
    `GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION;`,
    '',
  ].join('\n');
}

/** The first time: the system tables, with root (and the OS user) logging in over the socket only. */
async function initDataDir(ctx: StackContext, base: string): Promise<void> {
  const data = join(base, 'data');
  if (existsSync(join(data, 'mysql'))) return;
  const owner = runAs();
  const args = ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db'];
  ctx.log(`mariadb: initialising ${data}`);
  await run('mariadb-install-db', owner ? [...args, '--user=mysql'] : args, { cwd: base });
}

/**
 * `mariadbd` arguments: loopback only, on the stack's port, everything under `base`, and TLS with
 * the certificate under `tlsDir` (clients may still connect without it; rotor's stack env asks for it).
 */
export function mariadbArgs(base: string, tlsDir: string): string[] {
  const pki = loopbackPki(tlsDir);
  // prettier-ignore
  return ['--no-defaults', `--datadir=${join(base, 'data')}`, `--socket=${join(base, 'mariadbd.sock')}`,
    `--pid-file=${join(base, 'mariadbd.pid')}`, `--port=${ports.mariadb}`, '--bind-address=127.0.0.1',
    '--skip-name-resolve', `--init-file=${join(base, 'init.sql')}`, '--innodb-buffer-pool-size=64M',
    `--ssl-cert=${pki.server.cert}`, `--ssl-key=${pki.server.key}`, `--ssl-ca=${pki.ca.cert}`];
}

/** The server's CA and certificate, readable by the user it runs as. */
async function ensureTls(ctx: StackContext, owner: { uid: number; gid: number } | undefined): Promise<string> {
  const dir = mariadbTlsDir(ctx.paths);
  const pki = await ensureLoopbackPki(dir, 'rotor-dev-mariadb-ca');
  if (owner) for (const f of [dir, pki.ca.cert, pki.server.cert, pki.server.key]) chownSync(f, owner.uid, owner.gid);
  return dir;
}

/** MariaDB from Debian's package: a real credential target (users with passwords) for rotation. */
export const mariadb: StackService = {
  name: 'mariadb',
  get version() {
    return installedVersion();
  },
  dependsOn: [],
  address: `mysql://127.0.0.1:${ports.mariadb}`,
  async install(ctx) {
    await ensureDebianPackages(
      ctx,
      'MariaDB',
      ['mariadb-server'],
      () => existsSync(serverBin) && which('mariadb-install-db') !== undefined,
    );
  },
  async start(ctx) {
    await ensurePortFree(ports.mariadb, 'mariadb');
    if (!existsSync(serverBin)) throw new Error("mariadb: server missing; run 'dev/stack up mariadb' to install it");
    const base = mariadbBase(ctx);
    const owner = runAs();
    mkdirSync(base, { recursive: true });
    if (owner) chownSync(base, owner.uid, owner.gid);
    await initDataDir(ctx, base);
    const init = join(base, 'init.sql');
    writeFileSync(init, initSql(ctx), { mode: 0o600 });
    if (owner) chownSync(init, owner.uid, owner.gid);
    const tlsDir = await ensureTls(ctx, owner);
    startProcess(ctx, 'mariadb', serverBin, mariadbArgs(base, tlsDir), owner ?? {});
  },
  async health(ctx) {
    try {
      const c = await mysql.createConnection({
        host: '127.0.0.1',
        port: ports.mariadb,
        ...stackMariadbAdmin(ctx),
        connectTimeout: healthProbeTimeoutMs,
      });
      try {
        await c.query('select 1');
        return undefined;
      } finally {
        await c.end().catch(() => undefined);
      }
    } catch (e) {
      return `cannot log in as rotor's admin on port ${ports.mariadb}: ${(e as Error).message}`;
    }
  },
};
