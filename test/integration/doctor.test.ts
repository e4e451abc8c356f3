import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { DoctorReport } from '../../inspect/findings';
import { freshNamespace, kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { runRotor } from '../helpers/cli';
import type { CliRun } from '../helpers/cli';
import { useStackEnv } from '../helpers/stack-env';

const env: NodeJS.ProcessEnv = { ...process.env, ...useStackEnv() };
const id = randomBytes(3).toString('hex');
// The value only ever exists here and in the cluster: doctor must never print it.
const secretValue = `doctor-value-${randomBytes(12).toString('hex')}`;
const keyMaterial = randomBytes(32).toString('base64');

const rotor = (...args: string[]) => runRotor(env, ...args);

/** Creates Secret `db` holding the test value in `ns`. */
async function createSecret(kc: KubeConfig, ns: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'db' }, stringData: { password: secretValue } },
  });
}

async function playbookFile(dir: string, cluster: string, namespace: string, secretName: string): Promise<string> {
  const name = `doctor-${cluster}-${id}`;
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'rotor.dev/v1',
      kind: 'RotationPlaybook',
      metadata: { name },
      spec: {
        secret: { name, store: { type: 'vault', mount: 'secret', path: `doctor/${name}`, key: 'value' } },
        credential: { kind: 'random', length: 32 },
        clusters: [{ name: cluster, delivery: 'push', namespace, secretName }],
      },
    }),
  );
  return file;
}

/** A Deployment reading `secret` as a volume (the good way), with no service-account token. */
function deployment(name: string, secret: string, container: Record<string, unknown>, automount = false) {
  return {
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          automountServiceAccountToken: automount,
          containers: [{ name: 'app', image: 'busybox', ...container }],
          volumes: [{ name: 'creds', secret: { secretName: secret } }],
        },
      },
    },
  };
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotor-doctor-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rotor doctor on planted problems (cluster-b)', () => {
  let kc: KubeConfig;
  let ns: string;
  const role = `doctor-broad-${id}`;
  let report: DoctorReport;
  let run: CliRun;

  beforeAll(async () => {
    kc = kubeconfigFor('cluster-b');
    ns = await freshNamespace(kc, 'doctor-bad');
    await createSecret(kc, ns);
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: deployment('api', 'db', {
        env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
      }),
    });
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'external-secrets.io',
      version: 'v1',
      namespace: ns,
      plural: 'externalsecrets',
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'db-feed' },
        spec: {
          refreshInterval: '0s',
          secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
          target: { name: 'db', creationPolicy: 'Merge' },
          data: [{ secretKey: 'other', remoteRef: { key: `secret/doctor/none-${id}`, property: 'value' } }],
        },
      },
    });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: { metadata: { name: role }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'User', name: `auditor-${id}`, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    const enc = join(dir, 'encryption.yaml');
    await writeFile(
      enc,
      stringify({
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'EncryptionConfiguration',
        resources: [
          {
            resources: ['secrets'],
            providers: [{ identity: {} }, { aescbc: { keys: [{ name: 'k1', secret: keyMaterial }] } }],
          },
        ],
      }),
    );
    run = await rotor('doctor', await playbookFile(dir, 'cluster-b', ns, 'db'), '--json', '--encryption-config', enc);
    report = JSON.parse(run.stdout) as DoctorReport;
  });

  afterAll(async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: role }).catch(() => undefined);
    await purgeNamespace(kc, ns);
  });

  const find = (check: string) => report.findings.filter((f) => f.check === check);

  it('exits 4 because high-severity findings exist', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(4);
  });

  it('finds the env-var consumer, naming the workload and the fix', () => {
    const [f] = find('env-consumer');
    expect(f).toMatchObject({ severity: 'high', cluster: 'cluster-b', resource: `Deployment/${ns}/api` });
    expect(f?.fix).toMatch(/volume/);
  });

  it('finds the broad ClusterRole on Secrets', () => {
    expect(find('rbac-secrets-cluster-wide')).toEqual([
      expect.objectContaining({ severity: 'high', resource: `ClusterRoleBinding/${role}` }),
    ]);
    expect(find('rbac-secrets-cluster-wide')[0]?.problem).toContain(`user:auditor-${id}`);
  });

  it('finds the ExternalSecret with refreshInterval 0', () => {
    expect(find('eso-no-refresh')).toEqual([
      expect.objectContaining({ severity: 'high', resource: `ExternalSecret/${ns}/db-feed` }),
    ]);
  });

  it('finds identity listed first in the EncryptionConfiguration', () => {
    expect(find('encryption-identity-first')).toEqual([expect.objectContaining({ severity: 'high' })]);
  });

  it('says what it cannot see, and never prints the Secret value or key material', async () => {
    expect(report.unseen.join('\n')).toMatch(/kube-apiserver really runs with that EncryptionConfiguration/);
    expect(run.stdout + run.stderr).not.toContain(secretValue);
    expect(run.stdout + run.stderr).not.toContain(keyMaterial);
    const table = await rotor('doctor', join(dir, `doctor-cluster-b-${id}.yaml`));
    expect(table.code).toBe(4);
    expect(table.stdout).toMatch(/^HIGH +cluster-b +Deployment\//m);
    expect(table.stdout).toContain('not visible to rotor doctor:');
    expect(table.stdout).not.toContain(secretValue);
  });
});

describe('rotor doctor on grants that only look harmless (cluster-a)', () => {
  it("flags a system-named binding to system:authenticated and a binding merely labelled as rotor's", async () => {
    const kc = kubeconfigFor('cluster-a');
    const ns = await freshNamespace(kc, 'doctor-looks-fine');
    try {
      await createSecret(kc, ns);
      const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'db-reader' },
          rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['db'], verbs: ['get'] }],
        },
      });
      const bind = (name: string, subject: { kind: string; name: string }, labels?: Record<string, string>) =>
        rbac.createNamespacedRoleBinding({
          namespace: ns,
          body: {
            metadata: { name, ...(labels ? { labels } : {}) },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'db-reader' },
            subjects: [{ ...subject, apiGroup: 'rbac.authorization.k8s.io' }],
          },
        });
      // Every authenticated user, behind a name that looks like control-plane machinery.
      await bind('system:looks-official', { kind: 'Group', name: 'system:authenticated' });
      // Someone's own user, behind rotor's label (anyone who may create bindings can write it).
      await bind(`rotor-${id}`, { kind: 'User', name: `eve-${id}` }, { 'app.kubernetes.io/managed-by': 'rotor' });
      const run = await rotor('doctor', await playbookFile(dir, 'cluster-a', ns, 'db'), '--json');
      const report = JSON.parse(run.stdout) as DoctorReport;
      const of = (check: string) => report.findings.filter((f) => f.check === check && f.resource.includes(ns));
      expect(of('rbac-secrets-everyone')).toEqual([
        expect.objectContaining({ severity: 'high', resource: `Secret/${ns}/db` }),
      ]);
      expect(of('rbac-secrets-everyone')[0]?.problem).toContain('group:system:authenticated');
      expect(of('rbac-reader-not-consumer').map((f) => f.problem)).toEqual([
        expect.stringContaining(`user:eve-${id} can get it`),
      ]);
      expect(run.code).toBe(4);
    } finally {
      await purgeNamespace(kc, ns);
    }
  });
});

describe('rotor doctor on a clean namespace (cluster-c)', () => {
  it('reports nothing about the namespace and exits 0', async () => {
    const kc = kubeconfigFor('cluster-c');
    const ns = await freshNamespace(kc, 'doctor-clean');
    try {
      await createSecret(kc, ns);
      // Reads the Secret as a volume and gets no service-account token it does not use.
      await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
        namespace: ns,
        body: deployment('api', 'db', { volumeMounts: [{ name: 'creds', mountPath: '/etc/db', readOnly: true }] }),
      });
      const run = await rotor('doctor', await playbookFile(dir, 'cluster-c', ns, 'db'), '--json');
      const report = JSON.parse(run.stdout) as DoctorReport;
      // The playbook has never rotated, which is about its history, not the namespace.
      expect(report.findings.filter((f) => f.check !== 'rotation-overdue')).toEqual([]);
      expect(run.code).toBe(0);
    } finally {
      await purgeNamespace(kc, ns);
    }
  });
});
