/**
 * Consumer pods the TLS zero-downtime benchmarks share: a Node.js program run on the stack's real
 * nodes (the tools image with the host's node binary and the libraries it links mounted read-only,
 * hostNetwork, a port per cluster), the TLS server that serves a mounted `kubernetes.io/tls` Secret
 * and reports what it read, and the result files pods append one line per attempt to.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Deployment, V1EnvVar, V1Secret, V1Volume } from '@kubernetes/client-node';
import { parseCertificateBundle, tlsSecretData } from '../../adapters/credentials/vault-pki-value';
import { readsLinePrefix, reportsReadsAnnotation } from '../../core/ids';
import { sleeperTemplate } from '../helpers/kube';
import type { Counts } from './back-to-back';

/** A volume of a consumer pod and where its container sees it (read-only). */
export interface PodMount {
  name: string;
  mountPath: string;
  source: Omit<V1Volume, 'name'>;
}

/** A directory of the host, mounted read-only at `mountPath` (its own path unless told). */
export const hostDir = (name: string, path: string, mountPath = path): PodMount => ({
  name,
  mountPath,
  source: { hostPath: { path, type: 'Directory' } },
});

/**
 * A Deployment of one pod running `/opt/app/<script>` (from `appDir` on the host) with the host's
 * node binary, with PORT, POD_UID and POD_NAME set; `reports` opts it in to rotor reading its
 * `rotor.dev/reads` lines. `results` (a host directory) is mounted writable at /results.
 */
export function nodeDeployment(o: {
  name: string;
  appDir: string;
  script: string;
  port: number;
  mounts: PodMount[];
  env?: V1EnvVar[];
  reports?: boolean;
  results?: string;
}): V1Deployment {
  const labels = { app: o.name };
  // The host's node binary and the libraries it links (glibc, libstdc++) at their own paths.
  const mounts = [
    ...o.mounts,
    hostDir('node', dirname(process.execPath), '/opt/node'),
    hostDir('app', o.appDir, '/opt/app'),
    hostDir('lib', '/lib/x86_64-linux-gnu'),
    hostDir('lib64', '/lib64'),
  ];
  const template = sleeperTemplate(labels);
  const [container] = template.spec?.containers ?? [];
  if (!container || !template.spec) throw new Error('sleeperTemplate has no container');
  container.command = ['/opt/node/node', `/opt/app/${o.script}`];
  container.env = [
    { name: 'PORT', value: String(o.port) },
    { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
    // hostNetwork pods carry the node's hostname, so a result file is named by the pod.
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ...(o.env ?? []),
  ];
  container.volumeMounts = mounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: true }));
  template.spec.volumes = mounts.map((m) => ({ name: m.name, ...m.source }));
  if (o.results) {
    container.volumeMounts.push({ name: 'results', mountPath: '/results' });
    template.spec.volumes.push({ name: 'results', hostPath: { path: o.results, type: 'Directory' } });
  }
  template.spec.hostNetwork = true;
  if (o.reports) template.metadata = { ...template.metadata, annotations: { [reportsReadsAnnotation]: 'app' } };
  return { metadata: { name: o.name }, spec: { replicas: 1, selector: { matchLabels: labels }, template } };
}

/**
 * The TLS server: reads the key pair mounted at /cred for every connection (as servers that
 * reload certificates do; a pair read across the kubelet's swap is read again), and every second
 * prints `rotor.dev/reads value=<digest> value-other=<digest>`.
 */
const tlsServerJs = `
const { createHash } = require('node:crypto');
const { existsSync, readFileSync } = require('node:fs');
const tls = require('node:tls');
const read = (k) => readFileSync('/cred/' + k);
function context() {
  for (let i = 0; ; i++) {
    try { return tls.createSecureContext({ cert: read('tls.crt'), key: read('tls.key') }); }
    catch (e) { if (i >= 3) throw e; }
  }
}
const server = tls.createServer({ SNICallback: (_name, cb) => { try { cb(null, context()); } catch (e) { cb(e); } } },
  (s) => s.end('ok\\n'));
server.on('tlsClientError', () => {});
server.listen(Number(process.env.PORT), '127.0.0.1');
const digest = (k) => existsSync('/cred/' + k)
  ? createHash('sha256').update(process.env.POD_UID + ':').update(read(k)).digest('hex').slice(0, 32) : '-';
setInterval(() => console.log('${readsLinePrefix} value=' + digest('value') + ' value-other=' + digest('value-other')), 1000);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Deployment `tls-server` serving Secret `secretName` (mounted at /cred) on 127.0.0.1:`port`; writes its script to `appDir`. */
export function tlsServer(port: number, appDir: string, secretName: string): V1Deployment {
  writeFileSync(join(appDir, 'tls-server.js'), tlsServerJs);
  return nodeDeployment({
    name: 'tls-server',
    appDir,
    script: 'tls-server.js',
    port,
    mounts: [{ name: 'cred', mountPath: '/cred', source: { secret: { secretName } } }],
    reports: true,
  });
}

/** Failed and attempted uses with their reasons, the way {@link rotateBackToBack}'s callers count them. */
export interface Tally extends Counts {
  reasons: Map<string, number>;
}

/**
 * Result files in a host directory, one per consumer pod, one line per attempt: `o`, or `f` and
 * the reason. Counted from a mark on (lines written before it, e.g. while pods started, do not
 * count); a line not ended yet is left for the next count.
 */
export class ResultFiles {
  private marks = new Map<string, number>();
  constructor(readonly dir: string) {}

  private lines(): Map<string, string[]> {
    return new Map(
      readdirSync(this.dir).map((f) => [f, readFileSync(join(this.dir, f), 'utf8').split('\n').slice(0, -1)]),
    );
  }

  /** How many pods have written a result. */
  files(): number {
    return readdirSync(this.dir).length;
  }

  /** Counts from now on. */
  mark(): void {
    this.marks = new Map([...this.lines()].map(([f, l]) => [f, l.length]));
  }

  counts(): Tally {
    const t: Tally = { attempts: 0, failed: 0, reasons: new Map() };
    for (const [f, lines] of this.lines()) {
      for (const line of lines.slice(this.marks.get(f) ?? 0)) {
        t.attempts++;
        if (line === 'o') continue;
        t.failed++;
        const reason = line.slice(2) || 'unknown';
        t.reasons.set(reason, (t.reasons.get(reason) ?? 0) + 1);
      }
    }
    return t;
  }
}

/** Waits until `counts` grows by at least `atLeast` in 2 s without a failure (120 s at most): every consumer answers. */
export async function untilAnswering(counts: () => Tally, atLeast: number, what: string): Promise<void> {
  for (let deadline = Date.now() + 120_000; ;) {
    const { attempts, failed } = counts();
    await new Promise((r) => setTimeout(r, 2000));
    const now = counts();
    if (now.attempts - attempts >= atLeast && now.failed === failed) return;
    if (Date.now() > deadline)
      throw new Error(`${what} did not answer within 120s: ${JSON.stringify([...now.reasons])}`);
  }
}

/** A `kubernetes.io/tls` Secret holding a `vault-pki-certificate` value as rotor delivers it (`value` and the TLS keys). */
export function tlsSecret(name: string, value: string): V1Secret {
  return {
    metadata: { name },
    type: 'kubernetes.io/tls',
    stringData: { value, ...tlsSecretData(parseCertificateBundle(value, 'the initial value')) },
  };
}
