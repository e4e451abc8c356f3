/**
 * The worker's Vault connection against a private Vault dev server with TLS (`-dev-tls`): TLS is
 * verified unless VAULT_SKIP_VERIFY is explicitly true (for this loopback Vault), VAULT_CACERT is
 * honoured, an AppRole identity logs in and stays logged in past its token's maximum TTL, and a
 * Kubernetes auth identity logs in with a service-account token checked against cluster-a.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPaths } from '../../dev/local-stack/config';
import { resolveBinary } from '../../dev/local-stack/services/vault';
import { vaultFromEnv } from '../../adapters/vault-client';
import { vaultLogin } from '../../adapters/vault-login';
import type { VaultSession } from '../../adapters/vault-login';
import { freePort, privateProcess } from '../helpers/private-service';
import type { PrivateService } from '../helpers/private-service';
import { freshNamespace, kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-tls-'));
const rootToken = 'rotor-tls-root';
let vault: PrivateService;
let addr: string;
const caFile = join(dir, 'vault-ca.pem');

beforeAll(async () => {
  const port = await freePort();
  addr = `https://127.0.0.1:${port}`;
  vault = privateProcess({
    address: addr,
    command: await resolveBinary({ paths: stackPaths(), log: () => undefined }),
    args: [
      'server',
      '-dev',
      '-dev-tls',
      `-dev-tls-cert-dir=${dir}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      `-dev-root-token-id=${rootToken}`,
      '-dev-no-store-token',
    ],
    logFile: join(dir, 'vault.log'),
    ready: async () => {
      try {
        readFileSync(caFile);
      } catch {
        return false;
      }
      await vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile }).health();
      return true;
    },
  });
  await vault.start();
}, 120_000);

afterAll(async () => {
  await vault?.kill();
});

describe('TLS to Vault', () => {
  it('refuses a server it cannot verify, even with VAULT_SKIP_VERIFY=false', async () => {
    const v = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_SKIP_VERIFY: 'false' });
    await expect(v.read('sys/mounts')).rejects.toThrow(/certificate/i);
  });

  it('verifies against VAULT_CACERT', async () => {
    const v = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile });
    expect(await v.read('sys/mounts')).toHaveProperty('data');
  });

  it('skips verification only when VAULT_SKIP_VERIFY is explicitly true', async () => {
    const v = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_SKIP_VERIFY: 'true' });
    expect(await v.read('sys/mounts')).toHaveProperty('data');
  });

  it('names the variable when it is not a boolean or the CA cannot be read', () => {
    expect(() => vaultFromEnv({ VAULT_ADDR: addr, VAULT_SKIP_VERIFY: 'maybe' })).toThrow(/VAULT_SKIP_VERIFY='maybe'/);
    expect(() => vaultFromEnv({ VAULT_ADDR: addr, VAULT_CACERT: join(dir, 'missing.pem') })).toThrow(
      /VAULT_CACERT=.*missing\.pem cannot be read/,
    );
  });
});

describe('AppRole identity', () => {
  let session: VaultSession | undefined;
  afterAll(() => session?.stop());

  it('logs in, renews, and logs in again past the maximum TTL, so the worker never holds a dead token', async () => {
    const root = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile });
    await root.write('secret/data/identity-probe', { data: { note: 'not a credential' } });
    await root.addPolicy({
      name: 'probe-read',
      rules: 'path "secret/data/identity-probe" { capabilities = ["read"] }',
    });
    await root.enableAuth({ mount_point: 'approle', type: 'approle' });
    await root.write('auth/approle/role/rotor', { token_policies: 'probe-read', token_ttl: '3s', token_max_ttl: '5s' });
    const roleId = ((await root.read('auth/approle/role/rotor/role-id')) as { data: { role_id: string } }).data.role_id;
    const secretId = ((await root.write('auth/approle/role/rotor/secret-id', {})) as { data: { secret_id: string } })
      .data.secret_id;

    const env = { VAULT_ADDR: addr, VAULT_CACERT: caFile, VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId };
    const worker = vaultFromEnv(env);
    session = await vaultLogin([worker], env);
    const firstToken = worker.token;
    expect(firstToken).toBeTruthy();
    expect(session?.ttlSeconds).toBeGreaterThan(0);
    await expect(worker.read('secret/data/identity-probe')).resolves.toHaveProperty('data');

    // Past the 5 s maximum TTL the first token is dead; the session has logged in again.
    await new Promise((r) => setTimeout(r, 8_000));
    await expect(worker.read('secret/data/identity-probe')).resolves.toHaveProperty('data');
    expect(worker.token).not.toBe(firstToken);
    const stale = vaultClient({ endpoint: addr, token: firstToken, requestOptions: { ca: readFileSync(caFile) } });
    await expect(stale.read('secret/data/identity-probe')).rejects.toThrow(/permission denied|403/i);
  }, 60_000);

  it('a wrong secret id is a startup error naming the role id variable', async () => {
    const env = { VAULT_ADDR: addr, VAULT_CACERT: caFile, VAULT_ROLE_ID: 'nope', VAULT_SECRET_ID: 'nope' };
    await expect(vaultLogin([vaultFromEnv(env)], env)).rejects.toThrow(/AppRole login for VAULT_ROLE_ID nope/);
  });
});

/**
 * Kubernetes auth, as the chart's pods log in: a service-account token of audience `vault` (what the
 * projected volume holds), checked by Vault against cluster-a's apiserver with TokenReview. The file
 * is read again at every login, and tokens of another audience or another ServiceAccount are
 * refused, naming the role variable.
 */
describe('Kubernetes auth identity', () => {
  const kc = kubeconfigFor('cluster-a');
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  let ns: string;
  const binding = `vault-login-${Date.now().toString(36)}`;
  let session: VaultSession | undefined;
  const tokenFile = join(dir, 'sa-token');

  const token = async (serviceAccount: string, audiences: string[]) =>
    (
      await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace: ns,
        body: { spec: { audiences, expirationSeconds: 600 } },
      })
    ).status?.token ?? '';

  beforeAll(async () => {
    ns = await freshNamespace(kc, 'vault-k8s');
    for (const name of ['rotor', 'intruder', 'vault-reviewer'])
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    // A token of audience `vault` cannot call the apiserver (it is not the API's audience), so Vault
    // reviews with a reviewer identity of its own, as a Vault outside the cluster must.
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: binding },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
        subjects: [{ kind: 'ServiceAccount', name: 'vault-reviewer', namespace: ns }],
      },
    });
    const root = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile });
    await root.write('secret/data/k8s-probe', { data: { note: 'not a credential' } });
    await root.addPolicy({ name: 'k8s-probe-read', rules: 'path "secret/data/k8s-probe" { capabilities = ["read"] }' });
    await root.enableAuth({ mount_point: 'kubernetes', type: 'kubernetes' });
    const cluster = kc.getCurrentCluster();
    const ca = cluster?.caData
      ? Buffer.from(cluster.caData, 'base64').toString('utf8')
      : readFileSync(cluster?.caFile ?? '', 'utf8');
    await root.write('auth/kubernetes/config', {
      kubernetes_host: cluster?.server,
      kubernetes_ca_cert: ca,
      token_reviewer_jwt: await token('vault-reviewer', []),
    });
    await root.write('auth/kubernetes/role/rotor', {
      bound_service_account_names: 'rotor',
      bound_service_account_namespaces: ns,
      audience: 'vault',
      token_policies: 'k8s-probe-read',
      token_ttl: '3s',
      token_max_ttl: '3s',
    });
  }, 120_000);

  afterAll(async () => {
    session?.stop();
    await rbac.deleteClusterRoleBinding({ name: binding }).catch(() => undefined);
    if (ns) await purgeNamespace(kc, ns);
  });

  const envWith = (file: string) => ({
    VAULT_ADDR: addr,
    VAULT_CACERT: caFile,
    VAULT_KUBERNETES_ROLE: 'rotor',
    VAULT_KUBERNETES_TOKEN_FILE: file,
  });

  it('logs in with the projected token and reads the file again at the next login', async () => {
    writeFileSync(tokenFile, await token('rotor', ['vault']));
    const env = envWith(tokenFile);
    const worker = vaultFromEnv(env);
    session = await vaultLogin([worker], env);
    await expect(worker.read('secret/data/k8s-probe')).resolves.toHaveProperty('data');
    const first = worker.token;

    // The kubelet replaces the file; past the token's 3 s maximum the session logs in with the new one.
    writeFileSync(tokenFile, await token('rotor', ['vault']));
    await new Promise((r) => setTimeout(r, 3_500));
    await session?.refresh();
    expect(worker.token).not.toBe(first);
    await expect(worker.read('secret/data/k8s-probe')).resolves.toHaveProperty('data');

    // A file now holding a token Vault refuses makes the next login fail: it was read again.
    writeFileSync(tokenFile, await token('intruder', ['vault']));
    await new Promise((r) => setTimeout(r, 3_500));
    await expect(session?.refresh()).rejects.toThrow(/Kubernetes login for VAULT_KUBERNETES_ROLE rotor/);
  }, 60_000);

  it("refuses a token of the apiserver's own audience, and one of another ServiceAccount", async () => {
    const apiAudience = join(dir, 'api-audience-token');
    writeFileSync(apiAudience, await token('rotor', []));
    const env = envWith(apiAudience);
    await expect(vaultLogin([vaultFromEnv(env)], env)).rejects.toThrow(
      /Kubernetes login for VAULT_KUBERNETES_ROLE rotor at auth\/kubernetes failed/,
    );
    const other = join(dir, 'intruder-token');
    writeFileSync(other, await token('intruder', ['vault']));
    const env2 = envWith(other);
    await expect(vaultLogin([vaultFromEnv(env2)], env2)).rejects.toThrow(/VAULT_KUBERNETES_ROLE rotor/);
  });

  it('is a startup error when the token file cannot be read, or both logins are configured', async () => {
    const env = envWith(join(dir, 'no-such-token'));
    await expect(vaultLogin([vaultFromEnv(env)], env)).rejects.toThrow(
      /VAULT_KUBERNETES_TOKEN_FILE=.*no-such-token cannot be read/,
    );
    const both = { ...envWith(tokenFile), VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's' };
    await expect(vaultLogin([vaultFromEnv(both)], both)).rejects.toThrow(
      /VAULT_ROLE_ID and VAULT_KUBERNETES_ROLE are both set/,
    );
  });
});
