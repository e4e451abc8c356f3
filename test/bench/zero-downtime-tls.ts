/**
 * Zero-downtime benchmark for TLS leaf certificates (a script, not a test):
 * `npm run bench:zero-downtime-tls -- [--rotations 10] [--off-rotations 3] [--settle 10s]`. Per
 * cluster (cluster-a/b/c) one consumer Deployment on the stack's real nodes serves TLS from the
 * `kubernetes.io/tls` Secret rotor delivers, mounted as a volume: a Node.js server (the host's
 * node binary and libraries, mounted read-only into the tools image) that loads `tls.crt` and
 * `tls.key` afresh for every connection and reports what it read (rotor's opt-in convention).
 * Every 100 ms the benchmark completes a TLS handshake with each server as a client would: trusting
 * only the CA, expecting the certificate's name, and checking Vault's CRL (fetched every second).
 * It rotates a `vault-pki-certificate` back to back, first with the consumer gate on, then off,
 * and prints failed and attempted handshakes, time per rotation and the gate's share. Pods use
 * hostNetwork (distinct ports), as in bench:zero-downtime. Cleans up.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index';
import { parseCertificateBundle, tlsSecretData } from '../../adapters/credentials/vault-pki-value';
import { vaultFromEnv } from '../../adapters/vault-client';
import { depsFromEnv } from '../../workers/deps';
import { kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { ensurePki, issueBundle, stackPki } from '../helpers/pki';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startTestWorker } from '../helpers/worker';
import { backToBackArgs, machineLine, rotateBackToBack, runBench } from './back-to-back';
import { tlsSecret, tlsServer, untilAnswering } from './node-consumers';

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const args = backToBackArgs();
const secretName = 'web-tls';

useStackEnv();

/** Handshakes as a client that trusts the CA only, expects `serverName` and checks the CRL. */
class Clients {
  attempts = 0;
  failed = 0;
  reasons = new Map<string, number>();
  private crl = '';
  private timers: NodeJS.Timeout[] = [];
  constructor(
    private readonly ca: string,
    private readonly serverName: string,
  ) {}

  async refreshCrl(): Promise<void> {
    const res = (await vaultFromEnv().read(`${stackPki.mount}/cert/crl`)) as { data: { certificate: string } };
    this.crl = res.data.certificate;
  }

  private once(port: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (error?: string) => {
        this.attempts++;
        if (error) {
          this.failed++;
          this.reasons.set(error, (this.reasons.get(error) ?? 0) + 1);
        }
        socket.destroy();
        resolve();
      };
      const socket = connect({ host: '127.0.0.1', port, servername: this.serverName, ca: this.ca, crl: this.crl });
      socket.setTimeout(2000, () => done('timeout'));
      socket.once('secureConnect', () => done());
      socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    });
  }

  start(ports: number[]): void {
    this.timers.push(setInterval(() => void this.refreshCrl().catch(() => undefined), 1000));
    for (const port of ports) {
      let busy = false;
      this.timers.push(
        setInterval(() => {
          if (busy) return;
          busy = true;
          void this.once(port).finally(() => (busy = false));
        }, 100),
      );
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
}

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const namespace = `bench-zd-tls-${run}`;
  const appDir = mkdtempSync(join(tmpdir(), 'rotor-bench-tls-'));
  await ensurePki();
  const commonName = `bench-${run}.${stackPki.leafDomain}`;
  const initialBundle = await issueBundle(commonName, { ttl: '2h' });
  const initial = JSON.stringify(initialBundle);
  const ca = tlsSecretData(parseCertificateBundle(initial, 'initial'))['ca.crt'];
  const ts = await awsTestStore(initial);
  const tw = await startTestWorker(createActivities(depsFromEnv()));
  const kcs = contexts.map((c) => kubeconfigFor(c));
  const base = 47000 + randomInt(0, 2000);
  const ports = contexts.map((_, i) => base + i);
  const clients = new Clients(ca, commonName);
  try {
    for (const [i, kc] of kcs.entries()) {
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await core.createNamespacedSecret({ namespace, body: tlsSecret(secretName, initial) });
      await kc
        .makeApiClient(AppsV1Api)
        .createNamespacedDeployment({ namespace, body: tlsServer(ports[i] ?? 0, appDir, secretName) });
    }
    await clients.refreshCrl();
    clients.start(ports);
    await untilAnswering(() => clients, ports.length, 'TLS servers');
    clients.attempts = 0;
    clients.failed = 0;
    clients.reasons.clear();
    const basePlaybook = testPlaybook(ts.store, {
      credential: { kind: 'vault-pki-certificate', role: stackPki.leafRole, commonName, ttl: '2h' },
      clusters: contexts.map((name) => ({ name, delivery: 'push' as const, namespace, secretName })),
      canaries: [{ type: 'tls-handshake', name: 'handshake', serverName: commonName }],
      consumerGate: { settle: args.settle },
    });
    const results = await rotateBackToBack(tw, basePlaybook, {
      on: args.rotations,
      off: args.offRotations,
      noun: 'handshakes',
      counts: () => ({ attempts: clients.attempts, failed: clients.failed }),
    });
    console.log(`\n${machineLine()}`);
    console.log(
      `consumers: per cluster 1 TLS server reading the mounted kubernetes.io/tls Secret per connection (reports what it read, settle ${args.settle}); a CRL-checking handshake every 100 ms each`,
    );
    for (const r of results) console.log(r);
    if (clients.reasons.size) console.log(`failure reasons: ${JSON.stringify([...clients.reasons])}`);
  } finally {
    clients.stop();
    await tw.close();
    await Promise.all(kcs.map((kc) => purgeNamespace(kc, namespace).catch(() => undefined)));
    rmSync(appDir, { recursive: true, force: true });
  }
}

runBench(main);
