/**
 * Zero-downtime benchmark for CA rollovers (a script, not a test):
 * `npm run bench:zero-downtime-ca -- [--rotations 10] [--off-rotations 3] [--settle 10s]`. It makes
 * a PKI mount of its own in the stack's Vault (a root issuer as the default, a leaf role issuing
 * from the default issuer) and, per cluster (cluster-a/b/c), two Node.js programs on the stack's
 * real nodes (the host's node binary and libraries mounted read-only into the tools image,
 * hostNetwork, a port per cluster): a TLS server serving the `kubernetes.io/tls` Secret a
 * `vault-pki-certificate` rotation delivers (a leaf from the mount's leaf role), loaded for every
 * connection, reporting what it read; and a client mounting the trust-bundle ConfigMap the
 * `vault-pki-ca-rollover` publishes, re-reading it for every attempt and reporting the CAs it read
 * (rotor's opt-in convention, so the consumer gate waits for it). Every 100 ms each client completes
 * a strict TLS handshake with the server of its cluster (trusting only the mounted bundle,
 * expecting the certificate's name) and appends `o` or `f <reason>` to a file of its own on the
 * host. One iteration is a CA rollover (the new CA in every bundle, promoted to default issuer)
 * with, during its soak, the leaf rotated (the servers get a leaf of the new CA, the old leaf is
 * revoked), then skip-soak so the rollover's revoke drops the old CA. Iterations run back to back,
 * first with the consumer gate on, then off (both rotations), and it prints failed and attempted
 * handshakes with their reasons, time per iteration and the gates' share. Removes its namespaces,
 * Vault mount and files.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index';
import { parseCaCert } from '../../adapters/credentials/vault-pki-ca-pem';
import { ensureVaultPkiCaMount } from '../../adapters/credentials/vault-pki-ca-setup';
import { pkiMount } from '../../adapters/credentials/vault-pki-ca-vault';
import { vaultFromEnv } from '../../adapters/vault-client';
import { vaultApiPath } from '../../adapters/vault-path';
import { readsLinePrefix } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { skipSoakSignal, statusQuery } from '../../workflows/definitions';
import { depsFromEnv } from '../../workers/deps';
import { kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { issueBundle } from '../helpers/pki';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { backToBackArgs, machineLine, rotateBackToBack, rotateOnce, runBench, secs, withGate } from './back-to-back';
import { nodeDeployment, ResultFiles, tlsSecret, tlsServer, untilAnswering } from './node-consumers';

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const args = backToBackArgs();
const leafRole = 'bench-leaf';
const issuerPrefix = 'bench';
const bundle = { configMap: 'trust-bundle', key: 'ca.crt' };
const leafSecret = 'web-tls';
const caSecret = 'ca-cert';

useStackEnv();

/**
 * The client: for every attempt it reads the bundle afresh and completes a handshake trusting only
 * its CAs and expecting SERVER_NAME; appends `o` or `f <reason>` to /results/<pod>. Every second it
 * prints `rotor.dev/reads ca.crt=<fingerprints>` of the bundle it last read (`sha256:` and 16 hex
 * digits of each certificate's DER, as rotor names CAs).
 */
const clientJs = `
const { X509Certificate, createHash } = require('node:crypto');
const { appendFileSync, readFileSync } = require('node:fs');
const tls = require('node:tls');
const out = '/results/' + process.env.POD_NAME;
let read = '';
function attempt() {
  return new Promise((resolve) => {
    let pems;
    try { pems = readFileSync('/ca/${bundle.key}', 'utf8').match(/-----BEGIN CERTIFICATE-----[\\s\\S]+?-----END CERTIFICATE-----/g) ?? []; }
    catch { return resolve('BUNDLE_UNREADABLE'); }
    read = pems.map((p) => 'sha256:' + createHash('sha256').update(new X509Certificate(p).raw).digest('hex').slice(0, 16)).join(',');
    let settled = false;
    const socket = tls.connect({ host: '127.0.0.1', port: Number(process.env.PORT), servername: process.env.SERVER_NAME, ca: pems });
    const done = (reason) => { if (settled) return; settled = true; socket.destroy(); resolve(reason); };
    socket.setTimeout(2000, () => done('timeout'));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (e) => done(e.code || e.message));
  });
}
async function loop() {
  for (;;) {
    const started = Date.now();
    const reason = await attempt();
    appendFileSync(out, reason ? 'f ' + reason + '\\n' : 'o\\n');
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
  }
}
setInterval(() => console.log('${readsLinePrefix} ${bundle.key}=' + read), 1000);
process.on('SIGTERM', () => process.exit(0));
void loop();
`;

/**
 * One iteration: the CA rollover up to its soak, the leaf rotated meanwhile (from the new default
 * issuer), then skip-soak so its revoke drops the old CA. Returns both rotations' statuses.
 */
async function rollOver(tw: TestWorker, ca: Playbook, leaf: Playbook, gate: boolean, i: number) {
  const what = `iteration ${i + 1} (gate ${gate ? 'on' : 'off'})`;
  return tw.run(async () => {
    const h = await startRotation(tw, ca, 'bench');
    const outcome = outcomeOf(h);
    // Soaking, or ended before it (the loser of the race must not reject unhandled later).
    const soaking = waitForPhase(h, 'soak', 600_000).then(() => undefined);
    soaking.catch(() => undefined);
    const early = await Promise.race([soaking, outcome]);
    if (early)
      throw new Error(`${what}: the CA rollover ended before its soak: ${early.ok ? 'rotated' : early.error.message}`);
    const t0 = Date.now();
    const leafStatus = await rotateOnce(tw, withGate(leaf, gate), `${what}: the leaf rotation`);
    const leafMs = Date.now() - t0;
    await h.signal(skipSoakSignal, { by: 'bench', reason: 'leaf rotated to the new CA' });
    const o = await outcome;
    if (!o.ok) throw new Error(`${what}: the CA rollover failed: ${o.error.message}`);
    console.log(`  ${what}: leaf rotation ${secs(leafMs)}`);
    return [await h.query<RotationStatus>(statusQuery), leafStatus];
  });
}

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  const namespace = `bench-zd-ca-${run}`;
  const mount = `bench-ca-${run}`;
  const commonName = `web-${run}.bench.rotor.test`;
  const appDir = mkdtempSync(join(tmpdir(), 'rotor-bench-ca-'));
  const resultsDir = mkdtempSync(join(tmpdir(), 'rotor-bench-ca-results-'));
  writeFileSync(join(appDir, 'tls-client.js'), clientJs);
  const results = new ResultFiles(resultsDir);
  const vault = vaultFromEnv();
  const kcs = contexts.map((c) => kubeconfigFor(c));
  let tw: TestWorker | undefined;
  try {
    // The mount's first CA, its default issuer: the store's current value for the first rollover.
    await ensureVaultPkiCaMount(vault, mount, leafRole);
    const pki = pkiMount(vault, mount);
    const first = `${issuerPrefix}-initial`;
    await pki.generateRoot({ name: first, commonName: 'bench initial CA', keyType: 'ec', ttlSeconds: 30 * 86_400 });
    await pki.setDefault((await pki.issuerNamed(first))?.id ?? first);
    const initialCa = `${parseCaCert(await pki.certificateOf(first), 'the initial CA').pem}\n`;
    const initialLeaf = JSON.stringify(await issueBundle(commonName, { mount, role: leafRole, ttl: '2h' }));
    const caStore = await awsTestStore(initialCa);
    const leafStore = await awsTestStore(initialLeaf);
    tw = await startTestWorker(createActivities(depsFromEnv()));
    const base = 51000 + randomInt(0, 2000);
    const ports = contexts.map((_, i) => base + i);
    for (const [i, kc] of kcs.entries()) {
      const core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      const port = ports[i] ?? 0;
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: bundle.configMap }, data: { [bundle.key]: initialCa } },
      });
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: caSecret }, stringData: { value: initialCa } },
      });
      await core.createNamespacedSecret({ namespace, body: tlsSecret(leafSecret, initialLeaf) });
      await apps.createNamespacedDeployment({ namespace, body: tlsServer(port, appDir, leafSecret) });
      const client = nodeDeployment({
        name: 'tls-client',
        appDir,
        script: 'tls-client.js',
        port,
        mounts: [{ name: 'ca', mountPath: '/ca', source: { configMap: { name: bundle.configMap } } }],
        env: [{ name: 'SERVER_NAME', value: commonName }],
        reports: true,
        results: resultsDir,
      });
      await apps.createNamespacedDeployment({ namespace, body: client });
    }
    // Every client has a file and handshakes without failing for 2 s.
    for (let deadline = Date.now() + 120_000; results.files() < contexts.length;) {
      if (Date.now() > deadline) throw new Error(`TLS clients did not start within 120s (results in ${resultsDir})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await untilAnswering(() => results.counts(), contexts.length, 'TLS servers and clients');
    results.mark();
    const clusters = (secretName: string) =>
      contexts.map((name) => ({ name, delivery: 'push' as const, namespace, secretName }));
    const consumerGate = { settle: args.settle };
    const caPlaybook = testPlaybook(caStore.store, {
      credential: {
        kind: 'vault-pki-ca-rollover',
        mount,
        issuerPrefix,
        commonName: 'bench CA',
        ttl: '720h',
        leafRole,
        bundle,
      },
      clusters: clusters(caSecret),
      canaries: [
        {
          type: 'vault-pki-handshake',
          name: 'handshake-b',
          mount,
          role: leafRole,
          cluster: 'cluster-b',
          namespace,
          configMap: bundle.configMap,
        },
      ],
      // Ended by skip-soak once the leaf is rotated.
      soak: '1h',
      consumerGate,
    });
    const leafPlaybook = testPlaybook(leafStore.store, {
      credential: { kind: 'vault-pki-certificate', mount, role: leafRole, commonName, ttl: '2h' },
      clusters: clusters(leafSecret),
      canaries: [{ type: 'tls-handshake', name: 'handshake', serverName: commonName }],
      consumerGate,
    });
    const worker = tw;
    const reasons = () => JSON.stringify([...results.counts().reasons]);
    const lines = await rotateBackToBack(worker, caPlaybook, {
      on: args.rotations,
      off: args.offRotations,
      noun: 'handshakes',
      counts: () => results.counts(),
      extra: () => `reasons so far ${reasons()}`,
      iteration: (ca, gate, i) => rollOver(worker, ca, leafPlaybook, gate, i),
    });
    console.log(`\n${machineLine()}`);
    console.log(
      `consumers: per cluster 1 TLS server reading the mounted kubernetes.io/tls Secret per connection and 1 client re-reading the mounted trust bundle per handshake, both reporting what they read (settle ${args.settle}); a handshake every 100 ms per client; an iteration is a CA rollover with a leaf rotation in its soak`,
    );
    for (const l of lines) console.log(l);
  } finally {
    await tw?.close();
    await Promise.all(kcs.map((kc) => purgeNamespace(kc, namespace).catch(() => undefined)));
    await vault.delete(vaultApiPath('sys', 'mounts', mount)).catch(() => undefined);
    rmSync(appDir, { recursive: true, force: true });
    rmSync(resultsDir, { recursive: true, force: true });
  }
}

runBench(main);
