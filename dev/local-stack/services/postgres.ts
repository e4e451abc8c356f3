import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { devCredentials, ports } from '../config';
import { ensurePortFree, healthProbeTimeoutMs, startProcess } from '../process';
import type { StackService } from '../service';
import { ensureDebianPackages } from '../toolchain';

const run = promisify(execFile);

/** Debian's PostgreSQL server binaries (the newest major installed). */
export function serverBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => existsSync(join(root, d, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

function majorVersion(): string {
  return serverBinDir()?.split('/').at(-2) ?? 'not installed';
}

/** PostgreSQL refuses to run as root; as root the stack runs it as Debian's `postgres` user. */
export function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** One PostgreSQL server: data under `base/data`, its socket in `base`, listening on 127.0.0.1:`port`. */
export interface PostgresSpec {
  base: string;
  port: number;
}

/**
 * Creates `base` (owned by the server's user) and, the first time, the data directory with the
 * stack's superuser and password (scram-sha-256).
 */
export async function initPostgres(bin: string, s: PostgresSpec): Promise<void> {
  const data = join(s.base, 'data');
  const owner = runAs();
  mkdirSync(s.base, { recursive: true });
  if (owner) chownSync(s.base, owner.uid, owner.gid);
  if (existsSync(join(data, 'PG_VERSION'))) return;
  const pwfile = join(s.base, 'pwfile');
  writeFileSync(pwfile, `${devCredentials.postgresPassword}\n`, { mode: 0o600 });
  if (owner) chownSync(pwfile, owner.uid, owner.gid);
  await run(
    join(bin, 'initdb'),
    ['-D', data, '-U', devCredentials.postgresUser, '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8'],
    owner ?? {},
  );
}

/** `postgres` arguments for a spec. */
export function postgresArgs(s: PostgresSpec): string[] {
  // prettier-ignore
  return ['-D', join(s.base, 'data'), '-p', String(s.port), '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${s.base}`];
}

/** PostgreSQL from Debian's package: a real credential target for rotation. */
export const postgres: StackService = {
  name: 'postgres',
  get version() {
    return majorVersion();
  },
  dependsOn: [],
  address: `postgres://127.0.0.1:${ports.postgres}`,
  async install(ctx) {
    await ensureDebianPackages(ctx, 'PostgreSQL', ['postgresql'], () => serverBinDir() !== undefined);
  },
  async start(ctx) {
    await ensurePortFree(ports.postgres, 'postgres');
    const bin = serverBinDir();
    if (!bin) throw new Error("postgres: server binaries missing; run 'dev/stack up postgres' to install them");
    const spec = { base: join(ctx.paths.stateDir, 'postgres'), port: ports.postgres };
    await initPostgres(bin, spec);
    startProcess(ctx, 'postgres', join(bin, 'postgres'), postgresArgs(spec), runAs() ?? {});
  },
  async health() {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: ports.postgres,
      user: devCredentials.postgresUser,
      password: devCredentials.postgresPassword,
      database: 'postgres',
      connectionTimeoutMillis: healthProbeTimeoutMs,
    });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (e) {
      return `cannot log in on port ${ports.postgres}: ${(e as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};
