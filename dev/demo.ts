/**
 * `npm run demo`: brings the local stack up (building it on the first run), starts a rotor worker,
 * prepares the demo secret (Vault, a namespace per cluster, an ExternalSecret in cluster-a) and
 * rotates it across the three clusters with live progress and the Temporal UI link.
 *
 * `npm run demo -- --in-cluster`: no worker on the host; the stack's `workers` service (the chart's
 * two worker pods in cluster-a, dev/local-stack/services/workers.ts) is brought up and the rotation
 * runs on their task queue.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import vaultClient from 'node-vault';
import { loadPlaybook } from '../adapters/playbook-loader';
import { clusterNames, stackEnv, stackPaths } from './local-stack/config';
import { stackUp } from './local-stack/manager';
import { inCluster } from './local-stack/workers/install';

const playbookFile = 'playbooks/demo-three-clusters.yaml';
const say = (line: string) => process.stderr.write(`[demo] ${line}\n`);

async function ignoreConflict(p: Promise<unknown>): Promise<void> {
  await p.catch((e: unknown) => {
    if (!(e instanceof ApiException && e.code === 409)) throw e;
  });
}

async function prepare(env: Record<string, string>): Promise<void> {
  const playbook = await loadPlaybook(playbookFile);
  const store = playbook.spec.secret.store;
  if (store.type !== 'vault') throw new Error(`${playbookFile}: the demo expects a Vault store`);
  const vault = vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
  const exists = await vault.read(`${store.mount}/metadata/${store.path}`).then(
    () => true,
    () => false,
  );
  if (!exists)
    await vault.write(`${store.mount}/data/${store.path}`, {
      data: { [store.key]: randomBytes(30).toString('base64url').slice(0, 40) },
    });
  const base = new KubeConfig();
  base.loadFromFile(env['KUBECONFIG'] ?? '');
  for (const c of playbook.spec.clusters) {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: base.clusters,
      users: base.users,
      contexts: base.contexts,
      currentContext: c.context ?? c.name,
    });
    await ignoreConflict(kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: c.namespace } } }));
    if (c.delivery !== 'eso') continue;
    await ignoreConflict(
      kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: 'external-secrets.io',
        version: 'v1',
        plural: 'externalsecrets',
        namespace: c.namespace,
        body: {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ExternalSecret',
          metadata: { name: c.externalSecrets?.[0] ?? c.secretName },
          spec: {
            refreshInterval: '1h',
            secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
            target: { name: c.secretName },
            data: [
              {
                secretKey: playbook.spec.dualRead.currentKey,
                remoteRef: { key: `${store.mount}/${store.path}`, property: store.key },
              },
            ],
          },
        },
      }),
    );
  }
  say(
    `prepared ${store.mount}/${store.path} in Vault and namespace '${playbook.spec.clusters[0]?.namespace ?? ''}' in ${clusterNames.join(', ')}`,
  );
}

function startWorker(env: NodeJS.ProcessEnv): Promise<ReturnType<typeof spawn>> {
  return new Promise((resolve, reject) => {
    const worker = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60s:\n${seen.slice(-2000)}`)), 60_000);
    worker.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('rotor worker started')) {
        clearTimeout(timer);
        resolve(worker);
      }
    });
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${seen.slice(-2000)}`)));
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'in-cluster': { type: 'boolean', default: false } } });
  const paths = stackPaths();
  const ctx = { paths, log: (l: string) => process.stderr.write(`[stack] ${l}\n`) };
  await stackUp(ctx, []);
  const queue = values['in-cluster'] ? inCluster.taskQueue : (process.env['ROTOR_TASK_QUEUE'] ?? 'rotor-demo');
  const env = { ...process.env, ...stackEnv(paths), ROTOR_TASK_QUEUE: queue };
  await prepare(env);
  let worker: ReturnType<typeof spawn> | undefined;
  if (values['in-cluster']) {
    await stackUp(ctx, ['workers']);
    say(`no worker on this host: the chart's pods in cluster-a (${inCluster.namespace}) run task queue ${queue}`);
  } else {
    worker = await startWorker(env);
    say(`worker running on task queue ${queue}`);
  }
  try {
    const cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        'rotate',
        playbookFile,
        '--wait',
        '--reason',
        'demo',
        '--requested-by',
        'demo',
      ],
      { env, stdio: 'inherit' },
    );
    return await new Promise<number>((resolve) => cli.once('exit', (code) => resolve(code ?? 1)));
  } finally {
    worker?.kill('SIGTERM');
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
