import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
// A CommonJS module whose namespaces Node's ESM loader cannot name: its default export is the module.
import proto from '@temporalio/proto';
import pg from 'pg';
import { devCredentials, ports } from '../config';
import { ensurePortFree, portOpen, runningPid, sleep, startProcess } from '../process';
import type { StackContext, StackService } from '../service';
import { temporalDatabases, temporalDynamicConfig, temporalServerConfig } from '../temporal-postgres-config';
import { goBinary } from '../toolchain';
import { rotorSearchAttributes } from '../../../core/search-attributes';

const run = promisify(execFile);

/** The server version the Temporal CLI v1.5.1 (service `temporal`) embeds; dev/go/temporal-server pins it. */
export const temporalServerVersion = 'v1.29.1';

const frontend = `127.0.0.1:${ports.temporalPostgres.frontend.grpc}`;
const moduleDir = fileURLToPath(new URL('../../go/temporal-server', import.meta.url));

/** temporal-server and temporal-sql-tool, built from Go modules into the version-keyed cache. */
async function binaries(ctx: StackContext): Promise<{ server: string; sqlTool: string }> {
  const build = (name: string, pkg: string) =>
    goBinary(ctx, { name, version: temporalServerVersion, moduleDir, pkg: `go.temporal.io/server/cmd/${pkg}` });
  const [server, sqlTool] = await Promise.all([
    build('temporal-server', 'server'),
    build('temporal-sql-tool', 'tools/sql'),
  ]);
  return { server, sqlTool };
}

function pgClient(database: string): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port: ports.postgres,
    user: devCredentials.postgresUser,
    password: devCredentials.postgresPassword,
    database,
    connectionTimeoutMillis: 5000,
  });
}

async function databaseExists(name: string): Promise<boolean> {
  const client = pgClient('postgres');
  await client.connect();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/**
 * Creates each database once and brings its schema to the newest version with the server's own
 * tool (`setup-schema -v 0.0`, then `update-schema` with the schema embedded in the tool), so a
 * newer server version upgrades the schema on the next `up`. The password goes by environment.
 */
async function setUpSchemas(ctx: StackContext, sqlTool: string): Promise<void> {
  const env = { ...process.env, SQL_PASSWORD: devCredentials.postgresPassword };
  const schemas = { [temporalDatabases.default]: 'temporal', [temporalDatabases.visibility]: 'visibility' };
  for (const [db, schema] of Object.entries(schemas)) {
    // prettier-ignore
    const tool = (...args: string[]) => run(sqlTool, [
      '--plugin', 'postgres12', '--endpoint', '127.0.0.1', '--port', String(ports.postgres),
      '--user', devCredentials.postgresUser, '--database', db, ...args,
    ], { env });
    if (!(await databaseExists(db))) {
      ctx.log(`temporal-postgres: creating database ${db} and its schema (temporal-sql-tool)`);
      await tool('create-database', '--defaultdb', 'postgres');
      await tool('setup-schema', '-v', '0.0');
    }
    await tool('update-schema', '--schema-name', `postgresql/v12/${schema}`);
  }
}

async function withConnection<T>(job: (c: Connection) => Promise<T>): Promise<T> {
  const c = await Connection.connect({ address: frontend, connectTimeout: 2000 });
  try {
    return await job(c);
  } finally {
    await c.close();
  }
}

/** Why namespace `default` with rotor's search attributes is not usable yet, or undefined. */
async function namespaceProblem(c: Connection): Promise<string | undefined> {
  try {
    await c.workflowService.describeNamespace({ namespace: 'default' });
  } catch (e) {
    return `namespace default not registered: ${(e as Error).message}`;
  }
  const { customAttributes } = await c.operatorService.listSearchAttributes({ namespace: 'default' });
  const missing = Object.keys(rotorSearchAttributes).filter((name) => !customAttributes?.[name]);
  return missing.length ? `search attributes missing: ${missing.join(', ')}` : undefined;
}

/**
 * Registers namespace `default` (24 h retention, as the dev server's) and rotor's search
 * attributes once the frontend answers; retried while a fresh server's namespace cache catches up.
 */
async function register(ctx: StackContext): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = 'frontend not answering';
  while (Date.now() < deadline) {
    const outcome = await withConnection(async (c) => {
      const problem = await namespaceProblem(c);
      if (problem?.startsWith('namespace')) {
        ctx.log('temporal-postgres: registering namespace default');
        await c.workflowService.registerNamespace({
          namespace: 'default',
          workflowExecutionRetentionPeriod: msToTs('24h'),
        });
      } else if (problem) {
        ctx.log(`temporal-postgres: adding rotor's search attributes`);
        const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
        const missing = Object.keys(rotorSearchAttributes).filter((n) => problem.includes(n));
        await c.operatorService.addSearchAttributes({
          namespace: 'default',
          searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
        });
      }
      return problem;
    }).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
    if (outcome === undefined) return;
    last = outcome;
    await sleep(1000);
  }
  throw new Error(`temporal-postgres: could not register namespace default and search attributes: ${last}`);
}

/**
 * Optional: Temporal server v1.29.1 built from Go modules (dev/go/temporal-server), its four services
 * in one process, with the stack's PostgreSQL for persistence and visibility — how Temporal runs
 * beyond one machine. Enabled by `ROTOR_TEMPORAL_POSTGRES=1` or `dev/stack up --temporal-postgres`;
 * clients reach it with `TEMPORAL_ADDRESS=127.0.0.1:7235`. The dev server on 7233 stays as it is.
 */
export const temporalPostgres: StackService = {
  name: 'temporal-postgres',
  version: temporalServerVersion,
  dependsOn: ['postgres'],
  optional: { enabledBy: 'ROTOR_TEMPORAL_POSTGRES' },
  address: `${frontend} (HTTP http://127.0.0.1:${ports.temporalPostgres.frontendHttp}, PostgreSQL 127.0.0.1:${ports.postgres})`,
  async install(ctx) {
    await binaries(ctx);
  },
  async start(ctx) {
    const { server, sqlTool } = await binaries(ctx);
    // A running server of ours holds these ports itself.
    if (runningPid(ctx, 'temporal-postgres') === undefined) {
      const p = ports.temporalPostgres;
      const all = [
        p.frontendHttp,
        ...[p.frontend, p.history, p.matching, p.worker].flatMap((s) => [s.grpc, s.membership]),
      ];
      for (const port of all) await ensurePortFree(port, 'temporal-postgres');
    }
    await setUpSchemas(ctx, sqlTool);
    const dir = join(ctx.paths.stateDir, 'temporal-postgres');
    mkdirSync(join(dir, 'config'), { recursive: true });
    const dynamic = join(dir, 'config', 'dynamicconfig.yaml');
    writeFileSync(dynamic, temporalDynamicConfig());
    // The password in this file is the stack's fixed dev credential, as in `dev/stack env`.
    writeFileSync(join(dir, 'config', 'rotor.yaml'), temporalServerConfig(dynamic), { mode: 0o600 });
    // prettier-ignore
    startProcess(ctx, 'temporal-postgres', server,
      ['--root', dir, '--config', 'config', '--env', 'rotor', '--allow-no-auth', 'start'], { cwd: dir });
    await register(ctx);
  },
  async health() {
    if (!(await portOpen(ports.temporalPostgres.frontend.grpc)))
      return `frontend port ${frontend} not accepting connections`;
    return withConnection(namespaceProblem);
  },
};
