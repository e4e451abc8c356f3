/**
 * Zero-downtime benchmark for JWT signing keys (a script, not a test):
 * `npm run bench:zero-downtime-jwt -- [--rotations 10] [--off-rotations 3] [--settle 10s]`. Per
 * cluster (cluster-a/b/c) one verifier Deployment on the stack's real nodes mounts the JWKS
 * ConfigMap rotor publishes and verifies bearer tokens over HTTP with `jose` (`jwtVerify` through
 * `createLocalJWKSet`), re-reading the mounted JWKS for every request, as a verifier refreshing its
 * JWKS would: a Node.js server (the host's node binary and libraries and this checkout's `jose`,
 * mounted read-only into the tools image). The benchmark is the signer: it signs with the store's
 * current key (read every 250 ms, so it switches at promote, as a signer reading its Secret would)
 * and every 100 ms sends each verifier a fresh token and one issued about half a token lifetime
 * earlier (still valid, so a key removed too early shows). It rotates a `jwt-signing-key` back to
 * back, first with the consumer gate on, then off, and prints failed and attempted verifications
 * with their reasons, time per rotation and the gate's share. Pods use hostNetwork (a port per
 * cluster), as in bench:zero-downtime. Cleans up.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1Deployment } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index';
import { generateSigningJwk, parsePrivateJwk, publicOf, signTestToken } from '../../adapters/credentials/jwk';
import type { PrivateJwk } from '../../adapters/credentials/jwk';
import { depsFromEnv } from '../../workers/deps';
import { kubeconfigFor, purgeNamespace, sleeperTemplate } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startTestWorker } from '../helpers/worker';
import { machineLine, rotateBackToBack, secs } from './back-to-back';

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const { values: args } = parseArgs({
  options: {
    rotations: { type: 'string', default: '10' },
    'off-rotations': { type: 'string', default: '3' },
    settle: { type: 'string', default: '10s' },
  },
});
const rotations = Number(args.rotations);
const offRotations = Number(args['off-rotations']);
const configMap = 'auth-jwks';
const jwksKey = 'jwks.json';
/** The playbook's maxTokenLifetime (and soak), and the lifetime of every token the bench signs. */
const tokenLifetimeMs = 6_000;
/** A token is sent only with this much of its lifetime left: a send the loaded machine delays must not see it expire. */
const sendMarginMs = 2_500;

useStackEnv();

/**
 * The verifier: `GET /` with `Authorization: Bearer <jwt>` answers 200, or 401 with jose's error
 * code (ERR_JWKS_NO_MATCHING_KEY when the token's kid is not in the JWKS it read).
 */
const verifierJs = `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createLocalJWKSet, jwtVerify } from '/opt/jose/dist/webapi/index.js';
const server = createServer(async (req, res) => {
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  let jwks;
  try { jwks = JSON.parse(readFileSync('/jwks/${jwksKey}', 'utf8')); }
  catch { res.writeHead(500); return res.end('JWKS_UNREADABLE'); }
  try { await jwtVerify(token, createLocalJWKSet(jwks)); res.writeHead(200); res.end('ok'); }
  catch (e) { res.writeHead(401); res.end(e.code ?? 'INVALID'); }
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

function deployment(port: number, appDir: string): V1Deployment {
  const labels = { app: 'jwt-verifier' };
  const hostDir = (name: string, path: string, mountPath = path) => ({
    volume: { name, hostPath: { path, type: 'Directory' } },
    mount: { name, mountPath, readOnly: true },
  });
  // The host's node binary and the libraries it links (glibc, libstdc++) at their own paths, and jose.
  const dirs = [
    hostDir('node', dirname(process.execPath), '/opt/node'),
    hostDir('app', appDir, '/opt/app'),
    hostDir('jose', resolve('node_modules/jose'), '/opt/jose'),
    hostDir('lib', '/lib/x86_64-linux-gnu'),
    hostDir('lib64', '/lib64'),
  ];
  // The stack's tools image on its nodes, running node instead of sleeping.
  const template = sleeperTemplate(labels);
  const [container] = template.spec?.containers ?? [];
  if (!container || !template.spec) throw new Error('sleeperTemplate has no container');
  container.command = ['/opt/node/node', '/opt/app/verifier.mjs'];
  container.env = [{ name: 'PORT', value: String(port) }];
  container.volumeMounts = [{ name: 'jwks', mountPath: '/jwks', readOnly: true }, ...dirs.map((d) => d.mount)];
  template.spec.hostNetwork = true;
  template.spec.volumes = [{ name: 'jwks', configMap: { name: configMap } }, ...dirs.map((d) => d.volume)];
  return { metadata: { name: 'jwt-verifier' }, spec: { replicas: 1, selector: { matchLabels: labels }, template } };
}

/** The signer and the verifications: tokens signed with the store's current key, sent to every verifier. */
class Signer {
  attempts = 0;
  failed = 0;
  reasons = new Map<string, number>();
  switches: { at: number; kid: string }[] = [];
  private key: PrivateJwk;
  private issued: { at: number; token: string }[] = [];
  private timers: NodeJS.Timeout[] = [];
  constructor(
    initial: PrivateJwk,
    private readonly ts: TestStore,
  ) {
    this.key = initial;
  }

  /** Reads the store's current key; a new kid is the signer switching (promote). */
  private async refreshKey(): Promise<void> {
    const { currentValue } = await this.ts.snapshot();
    const key = parsePrivateJwk(currentValue, 'the store current value');
    if (key.kid === this.key.kid) return;
    this.key = key;
    this.switches.push({ at: Date.now(), kid: key.kid });
  }

  /** A fresh token, and the newest one issued at least half a lifetime ago (still valid). */
  private async tokens(): Promise<string[]> {
    const now = Date.now();
    const fresh = await signTestToken(this.key, tokenLifetimeMs);
    this.issued = [
      ...this.issued.filter((t) => now - t.at < tokenLifetimeMs - sendMarginMs),
      { at: now, token: fresh },
    ];
    const older = this.issued.filter((t) => now - t.at >= tokenLifetimeMs / 2).at(-1);
    return older ? [fresh, older.token] : [fresh];
  }

  private async verify(port: number, token: string): Promise<void> {
    let error: string | undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        headers: { authorization: `Bearer ${token}` },
        // A verifier that does not answer in 5 s counts as failed (a hang, not the load's delay).
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.text();
      if (res.status !== 200) error = body || `HTTP ${res.status}`;
    } catch (e) {
      error = (e as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    }
    this.attempts++;
    if (error) {
      this.failed++;
      this.reasons.set(error, (this.reasons.get(error) ?? 0) + 1);
    }
  }

  start(ports: number[]): void {
    let reading = false;
    this.timers.push(
      setInterval(() => {
        if (reading) return;
        reading = true;
        void this.refreshKey()
          .catch(() => undefined)
          .finally(() => (reading = false));
      }, 250),
    );
    let busy = false;
    this.timers.push(
      setInterval(() => {
        if (busy) return;
        busy = true;
        void this.tokens()
          .then((tokens) => Promise.all(ports.flatMap((p) => tokens.map((t) => this.verify(p, t)))))
          .finally(() => (busy = false));
      }, 100),
    );
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
}

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const namespace = `bench-zd-jwt-${run}`;
  const appDir = mkdtempSync(join(tmpdir(), 'rotor-bench-jwt-'));
  writeFileSync(join(appDir, 'verifier.mjs'), verifierJs);
  const initial = await generateSigningJwk('EdDSA');
  const ts = await awsTestStore(JSON.stringify(initial));
  const tw = await startTestWorker(createActivities(depsFromEnv()));
  const kcs = contexts.map((c) => kubeconfigFor(c));
  const base = 49000 + randomInt(0, 2000);
  const ports = contexts.map((_, i) => base + i);
  const signer = new Signer(initial, ts);
  try {
    for (const [i, kc] of kcs.entries()) {
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: configMap }, data: { [jwksKey]: JSON.stringify({ keys: [publicOf(initial)] }) } },
      });
      await kc
        .makeApiClient(AppsV1Api)
        .createNamespacedDeployment({ namespace, body: deployment(ports[i] ?? 0, appDir) });
    }
    signer.start(ports);
    // Wait until every verifier answers: 2 s without a failure.
    for (let deadline = Date.now() + 120_000; ;) {
      const before = { a: signer.attempts, f: signer.failed };
      await new Promise((r) => setTimeout(r, 2000));
      if (signer.attempts - before.a >= ports.length && signer.failed === before.f) break;
      if (Date.now() > deadline)
        throw new Error(`JWT verifiers did not answer within 120s: ${JSON.stringify([...signer.reasons])}`);
    }
    signer.attempts = 0;
    signer.failed = 0;
    signer.reasons.clear();
    const basePlaybook = testPlaybook(ts.store, {
      credential: {
        kind: 'jwt-signing-key',
        algorithm: 'EdDSA',
        maxTokenLifetime: `${tokenLifetimeMs / 1000}s`,
        jwks: { configMap, key: jwksKey },
      },
      soak: `${tokenLifetimeMs / 1000}s`,
      clusters: contexts.map((name) => ({ name, delivery: 'push' as const, namespace, secretName: 'token-signer' })),
      canaries: [{ type: 'jwt-verify', name: 'verify-b', cluster: 'cluster-b', namespace, configMap, key: jwksKey }],
      consumerGate: { settle: args.settle },
    });
    const results = await rotateBackToBack(tw, basePlaybook, {
      on: rotations,
      off: offRotations,
      noun: 'verifications',
      counts: () => ({ attempts: signer.attempts, failed: signer.failed }),
      extra: () => `reasons so far ${JSON.stringify([...signer.reasons])}`,
    });
    console.log(`\n${machineLine()}`);
    console.log(
      `verifiers: per cluster 1 jose verifier re-reading the mounted JWKS ConfigMap per request; signer switches read from the store: ${signer.switches.length}; every 100 ms a fresh and a half-lifetime-old token (lifetime ${secs(tokenLifetimeMs)}) to each`,
    );
    for (const r of results) console.log(r);
  } finally {
    signer.stop();
    await tw.close();
    await Promise.all(kcs.map((kc) => purgeNamespace(kc, namespace).catch(() => undefined)));
    rmSync(appDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
