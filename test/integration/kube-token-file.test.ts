/**
 * A kubeconfig whose user reads a `token-file` (how projected service-account tokens reach a
 * worker outside the cluster) keeps working when the token rotates: on the stack's cluster-c, the
 * first token is bound to an object and dies with it, a new token is written to the file, and
 * rotor's clients, loaded once, go on reading. A plain client-node kubeconfig loaded from the same
 * file is refused, which is what rotor did before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClients, loadKubeconfig } from '../../adapters/kubernetes/clients';
import { freshNamespace, kubeconfigFor, purgeNamespace, statusOf } from '../helpers/kube';

const admin = kubeconfigFor('cluster-c');
const core = admin.makeApiClient(CoreV1Api);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const dir = mkdtempSync(join(tmpdir(), 'rotor-token-file-'));
const tokenFile = join(dir, 'token');
const kubeconfigFile = join(dir, 'kubeconfig');
let namespace = '';

/** A token of the `reader` ServiceAccount that is valid only while Secret `anchor` exists. */
async function boundToken(anchor: string): Promise<string> {
  const obj = await core.createNamespacedSecret({ namespace, body: { metadata: { name: anchor } } });
  const res = await core.createNamespacedServiceAccountToken({
    namespace,
    name: 'reader',
    body: {
      spec: {
        audiences: [],
        expirationSeconds: 600,
        boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: anchor, uid: obj.metadata?.uid ?? '' },
      },
    },
  });
  return res.status?.token ?? '';
}

beforeAll(async () => {
  namespace = await freshNamespace(admin, 'rotor-token-file');
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'read-probe' },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['probe'], verbs: ['get'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'read-probe' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-probe' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
    },
  });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'probe' }, stringData: { k: 'v' } } });
  const cluster = admin.getCurrentCluster();
  writeFileSync(tokenFile, await boundToken('anchor-1'));
  writeFileSync(
    kubeconfigFile,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: cluster?.server,
            ...(cluster?.caData ? { 'certificate-authority-data': cluster.caData } : {}),
            ...(cluster?.caFile ? { 'certificate-authority': cluster.caFile } : {}),
          },
        },
      ],
      users: [{ name: 'reader', user: { 'token-file': tokenFile } }],
      contexts: [{ name: 'reader', context: { cluster: 'c', user: 'reader', namespace } }],
      'current-context': 'reader',
    }),
  );
});

afterAll(async () => {
  if (namespace) await purgeNamespace(admin, namespace);
  rmSync(dir, { recursive: true, force: true });
});

function withKubeconfig<T>(fn: () => T): T {
  const saved = process.env['KUBECONFIG'];
  process.env['KUBECONFIG'] = kubeconfigFile;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = saved;
  }
}

describe('a token-file kubeconfig user', () => {
  it('is read again when the token rotates; client-node alone keeps the dead token', async () => {
    const rotor = createKubeClients(withKubeconfig(loadKubeconfig)).forContext('reader').core;
    const plain = new KubeConfig();
    plain.loadFromFile(kubeconfigFile);
    const plainCore = plain.makeApiClient(CoreV1Api);
    const read = (api: CoreV1Api) => statusOf(api.readNamespacedSecret({ namespace, name: 'probe' }));
    expect(await read(rotor)).toBe(200);
    expect(await read(plainCore)).toBe(200);

    // The kubelet writes a fresh projected token before the old one expires; here the old one dies at once.
    writeFileSync(tokenFile, await boundToken('anchor-2'));
    await core.deleteNamespacedSecret({ namespace, name: 'anchor-1' });
    const deadline = Date.now() + 20_000;
    while ((await read(plainCore)) !== 401 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));

    expect(await read(plainCore)).toBe(401);
    expect(await read(rotor)).toBe(200);
  });

  it('names the user and the file when the token file is gone', async () => {
    const rotor = createKubeClients(withKubeconfig(loadKubeconfig)).forContext('reader').core;
    rmSync(tokenFile);
    await expect(rotor.readNamespacedSecret({ namespace, name: 'probe' })).rejects.toThrow(
      `kubeconfig user reader: cannot read its token-file ${tokenFile}`,
    );
  });
});
