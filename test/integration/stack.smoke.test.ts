import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { mariadbAdminFromEnv } from '../../adapters/credentials/mariadb-env';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startTestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';
import { services } from '../../dev/local-stack/services/index';
import { redis } from '../../dev/local-stack/services/redis';
import { tryRedisAuth } from '../../adapters/redis';
import { canAuth, stackRedis, withRedisAdmin } from '../helpers/redis';

const run = promisify(execFile);
const env = useStackEnv();

describe('local stack smoke', () => {
  it('dev/stack status --json reports every service healthy with version, address, pid and log', async () => {
    // status exits 1 when a service is unhealthy; its JSON (with each reason) is the failure to show.
    const stdout = await run('dev/stack', ['status', '--json']).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? '',
    );
    const status = JSON.parse(stdout) as {
      services: {
        name: string;
        state: string;
        detail?: string;
        version: string;
        address: string;
        pids: number[];
        logFiles: string[];
      }[];
    };
    // Optional services (temporal-postgres) are listed only while enabled or running; then they must be healthy too.
    const optional = services.filter((s) => s.optional).map((s) => s.name);
    expect(
      status.services
        .map((s) => s.name)
        .filter((n) => !optional.includes(n))
        .sort(),
    ).toEqual([
      'codec',
      'eso',
      'kube',
      'mariadb',
      'moto',
      'node',
      'otelcol',
      'postgres',
      'redis',
      'temporal',
      'temporal-tls',
      'vault',
    ]);
    // `workers` comes and goes with stack-workers.test.ts, running beside this file, which checks it.
    for (const s of status.services.filter((x) => x.name !== 'workers')) {
      expect({ name: s.name, state: s.state, detail: s.detail }).toEqual({
        name: s.name,
        state: 'healthy',
        detail: undefined,
      });
      expect(s.pids.length).toBeGreaterThan(0);
      expect(s.logFiles.length).toBeGreaterThan(0);
      expect(s.version).not.toBe('');
    }
  });

  it('a workflow round-trips through a rotor worker on the Temporal dev server', async () => {
    const ts = await awsTestStore('smoke-initial-value');
    const tw = await startTestWorker(createActivities(depsFromEnv()));
    try {
      const playbook = testPlaybook(ts.store);
      const result = await tw.run(async () => {
        const h = await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [{ playbook, trigger: 'manual', requestedBy: 'smoke' }],
        });
        await h.result();
        return h.query(statusQuery);
      });
      expect(result.phase).toBe('rotated');
    } finally {
      await tw.close();
    }
  });

  it('Secrets Manager put/get works against moto through the standard AWS endpoint settings', async () => {
    expect(env['AWS_ENDPOINT_URL']).toMatch(/^http:\/\/127\.0\.0\.1:/);
    const sm = new SecretsManagerClient({});
    const name = `smoke/${randomUUID()}`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two' }));
    const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(got.SecretString).toBe('two');
  });

  it('PostgreSQL accepts a password login and rejects a wrong password', async () => {
    const client = new pg.Client({ connectionTimeoutMillis: 5000 });
    await client.connect();
    const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
    await client.end();
    expect(rows[0]?.v).toMatch(/^\d+/);
    const wrong = new pg.Client({ password: 'definitely-wrong', connectionTimeoutMillis: 5000 });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('Redis: rotor administers over plaintext and verified TLS; the default user and a wrong password are refused', async () => {
    for (const target of [stackRedis.plain, stackRedis.tls]) {
      expect(await withRedisAdmin((r) => r.call('ACL', 'WHOAMI'), target)).toBe(env['ROTOR_REDIS_USERNAME']);
    }
    expect(redis.version).toMatch(/^7\./);
    const wrong = JSON.stringify({ username: env['ROTOR_REDIS_USERNAME'], password: 'definitely-wrong' });
    expect(await canAuth(wrong)).toBe(false);
    // Without the stack's CA the TLS port is not trusted.
    const blind = await tryRedisAuth(stackRedis.tls, JSON.parse(wrong) as never, { timeoutMs: 5000 });
    expect(blind.message).toMatch(/certificate/i);
    // The default user is off: a connection that does not authenticate can do nothing.
    const anonymous = await tryRedisAuth(stackRedis.plain, { username: 'default', password: 'x' }, { timeoutMs: 5000 });
    expect(anonymous.refused).toBe(true);
  });

  it("MariaDB accepts rotor's admin account (password from the stack's key file, loopback only) and refuses a wrong password", async () => {
    const admin = mariadbAdminFromEnv()();
    expect(admin).toMatchObject({ host: '127.0.0.1', port: 53306, user: 'rotor' });
    expect(admin.password).toMatch(/^[0-9a-f]{64}$/);
    const c = await mysql.createConnection({ ...admin, connectTimeout: 5000 });
    const [rows] = await c.query<mysql.RowDataPacket[]>('select version() as v, @@bind_address as bind');
    await c.end();
    expect(rows[0]?.['v']).toMatch(/^\d+\.\d+\.\d+-MariaDB/);
    expect(rows[0]?.['bind']).toBe('127.0.0.1');
    await expect(mysql.createConnection({ ...admin, password: 'definitely-wrong' })).rejects.toMatchObject({
      errno: 1045,
    });
  });
});
