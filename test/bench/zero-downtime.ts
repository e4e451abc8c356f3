/**
 * Zero-downtime benchmark (a script, not a test): `npm run bench:zero-downtime -- [--rotations 20]
 * [--off-rotations N] [--settle 10s] [--kind postgres|redis|mariadb] [--image ref]`. Per cluster
 * (cluster-a/b/c) it runs two consumer Deployments on the stack's real nodes (image `--image`, the
 * stack's tools image unless told): one reads the Secret from a mounted volume (and reports what it
 * read, rotor's opt-in convention), one from env vars (listed for rollout). Every 100 ms each tries
 * to log in with the current key, then the other key, and appends `o` or `f` to a file of its own:
 * to the stack's PostgreSQL with psql (a postgres-alternating-users credential), with `--kind redis`
 * to the stack's Redis with redis-cli `AUTH` + `PING` (a redis-acl-user credential), or with
 * `--kind mariadb` to the stack's MariaDB with the mariadb client (a mariadb-users credential). Then
 * it rotates the credential across the three clusters back to back, first with the consumer gate
 * on, then off, and prints failed and attempted logins, time per rotation and the gate's share. Pods
 * use hostNetwork: the servers listen on the host's 127.0.0.1, which pod networks cannot reach.
 * Cleans up.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import pg from 'pg';
import { createActivities } from '../../activities/index';
import { nodeImages, ports } from '../../dev/local-stack/config';
import { reportsReadsAnnotation } from '../../core/ids';
import type { PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { readsReportOnce } from '../helpers/consumers';
import { kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { createTestDatabase, createUserPair, dropTestDatabase } from '../helpers/mariadb';
import { testPlaybook } from '../helpers/playbooks';
import { createRolePair, withPgAdmin } from '../helpers/postgres';
import { createRedisUser, deleteRedisUsers, stackRedis } from '../helpers/redis';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startTestWorker } from '../helpers/worker';
import { machineLine, rotateBackToBack } from './back-to-back';

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const { values: args } = parseArgs({
  options: {
    rotations: { type: 'string', default: '20' },
    'off-rotations': { type: 'string' },
    settle: { type: 'string', default: '10s' },
    kind: { type: 'string', default: 'postgres' },
    // The consumers' image: the stack's tools image unless told (it must hold sh, sed, psql, redis-cli and mariadb).
    image: { type: 'string', default: nodeImages.tools },
  },
});
const kinds = ['postgres', 'redis', 'mariadb'] as const;
type Kind = (typeof kinds)[number];
const isKind = (k: string): k is Kind => (kinds as readonly string[]).includes(k);
if (!isKind(args.kind)) throw new Error(`--kind: write postgres, redis or mariadb, not ${args.kind}`);
const kind = args.kind;
const rotations = Number(args.rotations);
const offRotations = Number(args['off-rotations'] ?? args.rotations);
const secretName = 'db-login';

useStackEnv();
const pgEnv = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: process.env.PGPORT ?? '55432',
  db: process.env.PGDATABASE ?? 'postgres',
};
const mariadbEnv = {
  host: process.env.ROTOR_MARIADB_HOST ?? '127.0.0.1',
  port: process.env.ROTOR_MARIADB_PORT ?? String(ports.mariadb),
};

/** The consumer's login for user "$u" with password "$p" (never in argv: PGPASSWORD, REDISCLI_AUTH, MYSQL_PWD). */
const loginCommands: Record<Kind, string> = {
  postgres: `PGPASSWORD="$p" PGCONNECT_TIMEOUT=2 psql -h ${pgEnv.host} -p ${pgEnv.port} -U "$u" -d ${pgEnv.db} -tAc "select 1" >/dev/null 2>&1`,
  redis: `REDISCLI_AUTH="$p" timeout 2 redis-cli --no-auth-warning -h 127.0.0.1 -p ${ports.redis} --user "$u" PING 2>/dev/null | grep -q PONG`,
  mariadb: `MYSQL_PWD="$p" mariadb --no-defaults --connect-timeout=2 -h ${mariadbEnv.host} -P ${mariadbEnv.port} -u "$u" -e "select 1" >/dev/null 2>&1`,
};

/** Shell reading `u` and `p` from `$1` (the stored JSON {"username","password"}). */
const userPassword = [
  '  u=$(printf "%s" "$1" | sed -n \'s/.*"username":"\\([^"]*\\)".*/\\1/p\')',
  '  p=$(printf "%s" "$1" | sed -n \'s/.*"password":"\\([^"]*\\)".*/\\1/p\')',
  '  [ -n "$u" ] || return 1',
];

/** Logs in with `$1` (the stored JSON) and prints nothing; exit status says whether it worked. */
const loginFn = ['login() {', ...userPassword, `  ${loginCommands[kind]}`, '}'].join('\n');

/** Every 100 ms: current key, then the other; `o` or `f` appended to the pod's own result file. */
function consumerScript(read: { current: string; other: string }, reportEvery: string | undefined): string {
  return [
    'trap "exit 0" TERM',
    loginFn,
    // hostNetwork pods carry the node's hostname, so the file is named by the pod (downward API).
    'out=/results/$POD_NAME',
    'i=0',
    'while :; do',
    `  if login "${read.current}" || login "${read.other}"; then echo o >>$out; else echo f >>$out; fi`,
    ...(reportEvery ? ['  i=$((i+1)); [ $((i % 5)) -eq 0 ] && report'] : []),
    '  sleep 0.1',
    'done',
  ].join('\n');
}

function deployment(name: string, mode: 'volume' | 'env', resultsDir: string): V1Deployment {
  const labels = { app: name };
  const container: V1Container = {
    name: 'app',
    image: args.image,
    imagePullPolicy: 'Never',
    env: [
      { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    volumeMounts: [{ name: 'results', mountPath: '/results' }],
  };
  const volumes = [{ name: 'results', hostPath: { path: resultsDir, type: 'Directory' } }];
  if (mode === 'volume') {
    // What it read, in rotor's convention (opt-in below), every 5 attempts.
    const once = readsReportOnce('/cred', ['value', 'value-other']);
    container.command = [
      '/bin/sh',
      '-c',
      `report() {\n${once}\n}\n${consumerScript({ current: '$(cat /cred/value 2>/dev/null)', other: '$(cat /cred/value-other 2>/dev/null)' }, 'yes')}`,
    ];
    container.volumeMounts?.push({ name: 'cred', mountPath: '/cred', readOnly: true });
    volumes.push({ name: 'cred', secret: { secretName } } as never);
  } else {
    container.env?.push(
      { name: 'CUR', valueFrom: { secretKeyRef: { name: secretName, key: 'value' } } },
      { name: 'OTHER', valueFrom: { secretKeyRef: { name: secretName, key: 'value-other', optional: true } } },
    );
    container.command = ['/bin/sh', '-c', consumerScript({ current: '$CUR', other: '$OTHER' }, undefined)];
  }
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, ...(mode === 'volume' ? { annotations: { [reportsReadsAnnotation]: 'app' } } : {}) },
        spec: {
          hostNetwork: true,
          terminationGracePeriodSeconds: 5,
          automountServiceAccountToken: false,
          containers: [container],
          volumes,
        },
      },
    },
  };
}

/** `o` and `f` counts over every result file so far. */
function tally(dir: string): { attempts: number; failed: number } {
  let attempts = 0;
  let failed = 0;
  for (const f of readdirSync(dir)) {
    for (const c of readFileSync(join(dir, f), 'utf8')) {
      if (c === 'o' || c === 'f') attempts++;
      if (c === 'f') failed++;
    }
  }
  return { attempts, failed };
}

/** What is rotated: the first stored value, the playbook's credential, and how to remove it all. */
interface BenchTarget {
  initial: string;
  credential: PlaybookInput['spec']['credential'];
  tearDown(): Promise<unknown>;
}

/** Two PostgreSQL roles with a grant on a table of their own. */
async function postgresTarget(run: string): Promise<BenchTarget> {
  const table = `bench_zd_${run}`;
  await withPgAdmin((c) => c.query(`CREATE TABLE ${pg.escapeIdentifier(table)} (x int)`));
  const roles: [string, string] = [`bench_zd_${run}_a`, `bench_zd_${run}_b`];
  const { initial } = await createRolePair(roles[0], roles[1], table);
  return {
    initial,
    credential: { kind: 'postgres-alternating-users', roles },
    tearDown: () =>
      withPgAdmin(async (c) => {
        for (const r of roles) await c.query(`DROP OWNED BY ${pg.escapeIdentifier(r)}`).catch(() => undefined);
        await c.query(`DROP TABLE IF EXISTS ${pg.escapeIdentifier(table)}`);
        for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
      }),
  };
}

/** A Redis ACL user that may PING; rotor administers it over TLS, the consumers log in in plaintext. */
async function redisTarget(run: string): Promise<BenchTarget> {
  const user = `bench-zd-${run}`;
  const { initial } = await createRedisUser(user);
  return {
    initial,
    credential: { kind: 'redis-acl-user', user, ...stackRedis.tls },
    tearDown: () => deleteRedisUsers([user]),
  };
}

/** Two MariaDB users with SELECT on a database of their own. */
async function mariadbTarget(run: string): Promise<BenchTarget> {
  const database = `bench_zd_${run}`;
  await createTestDatabase(database);
  const users: [string, string] = [`${database}_a`, `${database}_b`];
  const { initial } = await createUserPair(users[0], users[1], database);
  return {
    initial,
    credential: { kind: 'mariadb-users', users },
    tearDown: () => dropTestDatabase(database, users),
  };
}

const targets: Record<Kind, (run: string) => Promise<BenchTarget>> = {
  postgres: postgresTarget,
  redis: redisTarget,
  mariadb: mariadbTarget,
};

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const namespace = `bench-zd-${run}`;
  const resultsDir = mkdtempSync(join(tmpdir(), 'rotor-bench-zd-'));
  const target = await targets[kind](run);
  const { initial } = target;
  const ts = await awsTestStore(initial);
  const tw = await startTestWorker(createActivities(depsFromEnv()));
  const kcs = contexts.map((c) => kubeconfigFor(c));
  try {
    for (const kc of kcs) {
      const core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: secretName }, stringData: { value: initial } },
      });
      await apps.createNamespacedDeployment({ namespace, body: deployment('volume-consumer', 'volume', resultsDir) });
      await apps.createNamespacedDeployment({ namespace, body: deployment('env-consumer', 'env', resultsDir) });
    }
    // Wait until every consumer logged in at least once.
    for (let deadline = Date.now() + 120_000; readdirSync(resultsDir).length < 6;) {
      if (Date.now() > deadline) throw new Error(`consumer pods did not start within 120s (results in ${resultsDir})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const before = tally(resultsDir);
    if (before.failed > 0)
      throw new Error(`consumers fail before any rotation (${before.failed} failed logins): check ${kind}`);
    const basePlaybook = testPlaybook(ts.store, {
      credential: target.credential,
      clusters: contexts.map((name) => ({
        name,
        delivery: 'push' as const,
        namespace,
        secretName,
        workloads: [{ kind: 'Deployment' as const, name: 'env-consumer' }],
      })),
      consumerGate: { settle: args.settle },
    });
    const results = await rotateBackToBack(tw, basePlaybook, {
      on: rotations,
      off: offRotations,
      noun: 'logins',
      counts: () => tally(resultsDir),
    });
    console.log(`\n${machineLine()}`);
    console.log(
      `consumers: per cluster 1 volume (reports what it read, settle ${args.settle}) + 1 env (rolled out), a ${kind} login every 100 ms each`,
    );
    for (const r of results) console.log(r);
  } finally {
    await tw.close();
    await Promise.all(kcs.map((kc) => purgeNamespace(kc, namespace).catch(() => undefined)));
    await target.tearDown().catch(() => undefined);
    rmSync(resultsDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
