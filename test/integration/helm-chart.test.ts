/**
 * The worker chart (deploy/helm/rotor) with the Helm the stack builds from Go modules: `helm lint`
 * and `helm template` with the example values, what the rendered objects promise (replicas, the
 * restricted Pod Security profile, probes, PDB, NetworkPolicy, the ServiceMonitor only where its
 * CRD is served, Worker Versioning with a Deployment per build, hostAliases), values the schema
 * refuses, and the RBAC equal to what `rotor rbac` computes. The pod template is also admitted by a real apiserver's Pod Security
 * admission at `restricted` (server-side dry run on cluster-a).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { stackPaths } from '../../dev/local-stack/config';
import { helmBinary } from '../../dev/local-stack/helm';
import { identityPolicyName } from '../../dev/crds';
import { loadPlaybook } from '../../adapters/playbook-loader';
import { rbacFor } from '../../inspect/rbac';
import { runRotor } from '../helpers/cli';
import { kubeconfigFor, statusOf } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

const run = promisify(execFile);
const chart = 'deploy/helm/rotor';
const exampleValues = `${chart}/ci/example-values.yaml`;
/** The playbooks and cluster the example values' `rbac` block is generated from (see its header). */
const examplePlaybooks = ['playbooks/demo-three-clusters.yaml', 'playbooks/multi-cluster.yaml'];
const release = { name: 'rotor', namespace: 'rotor-system' };

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<
  string,
  unknown
>;

let helm: string;
let scratch: string;

async function template(...args: string[]): Promise<K8sObject[]> {
  const { stdout } = await run(
    helm,
    ['template', release.name, chart, '--namespace', release.namespace, '-f', exampleValues, ...args],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** helm's failure text for a template that must be refused. */
async function refused(...args: string[]): Promise<string> {
  try {
    await template(...args);
  } catch (e) {
    return (e as { stderr?: string }).stderr ?? String(e);
  }
  throw new Error(`helm template ${args.join(' ')} was accepted`);
}

const ofKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const deploymentOf = (objs: K8sObject[]) => ofKind(objs, 'Deployment')[0] as unknown as V1Deployment;

beforeAll(async () => {
  useStackEnv();
  // Built from Go modules by the stack's toolchain on first use (dev/stack up builds it too), then cached.
  helm = await helmBinary({ paths: stackPaths(), log: (l) => console.log(l) });
  scratch = mkdtempSync(join(tmpdir(), 'rotor-chart-'));
}, 900_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the worker chart', () => {
  it('passes helm lint --strict with the example values', async () => {
    const { stdout } = await run(helm, [
      'lint',
      chart,
      '--strict',
      '--namespace',
      release.namespace,
      '-f',
      exampleValues,
    ]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders two or more workers without leader election, under the restricted profile, with probes', async () => {
    const d = deploymentOf(await template());
    expect(d.spec?.replicas).toBeGreaterThanOrEqual(2);
    const pod = d.spec?.template.spec;
    const c = pod?.containers[0];
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod?.hostNetwork).toBeFalsy();
    expect(c?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c?.livenessProbe?.httpGet?.path).toBe('/livez');
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    // Nothing that elects a leader; versioning names the deployment; SIGTERM grace below the pod's.
    expect(Object.keys(env).filter((k) => /LEADER|ELECT/i.test(k))).toEqual([]);
    expect(env['ROTOR_DEPLOYMENT_NAME']).toBe('rotor');
    expect(Number(env['ROTOR_SHUTDOWN_FORCE_S'])).toBeLessThan(pod?.terminationGracePeriodSeconds ?? 0);
    expect(env['VAULT_KUBERNETES_ROLE']).toBe('rotor');
    // Histories name the pod that ran each task, also where pods share a node's hostname.
    expect(env['ROTOR_WORKER_IDENTITY']).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    const vaultToken = pod?.volumes?.find((v) => v.name === 'vault-token');
    expect(vaultToken?.projected?.sources?.[0]?.serviceAccountToken).toMatchObject({ audience: 'vault' });
  });

  it('adds a PodDisruptionBudget and a NetworkPolicy, and the policy as a ConfigMap the worker reads', async () => {
    const objs = await template();
    expect(ofKind(objs, 'PodDisruptionBudget')).toHaveLength(1);
    expect(ofKind(objs, 'NetworkPolicy')).toHaveLength(1);
    const cm = ofKind(objs, 'ConfigMap')[0] as unknown as { data: Record<string, string> };
    const example = parse(readFileSync(exampleValues, 'utf8')) as { policy: object };
    // The chart's default: requesters and approvers from Kubernetes only, whatever else the values say.
    expect(parse(cm.data['policy.yaml'] ?? '')).toEqual({ identity: 'kubernetes', ...example.policy });
  });

  it("runs rotor's controller only when asked, elected by its Lease, with only its ClusterRole and Lease Role", async () => {
    expect(ofKind(await template(), 'ClusterRole')).toEqual([]);
    const on = await template('--set', 'controller.enabled=true,controller.context=mgmt,replicaCount=3');
    expect(ofKind(on, 'ClusterRole').map((o) => o['rules'])).toEqual([
      [
        {
          apiGroups: ['rotor.dev'],
          resources: ['rotationplaybooks', 'rotationrequests', 'rotationapprovals', 'rotationincidents'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['rotor.dev'],
          resources: [
            'rotationplaybooks/status',
            'rotationrequests/status',
            'rotationapprovals/status',
            'rotationincidents/status',
          ],
          verbs: ['patch'],
        },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ],
    ]);
    expect(deploymentOf(on).spec?.template.spec?.containers[0]?.env).toContainEqual({
      name: 'ROTOR_CONTROLLER_CONTEXT',
      value: 'mgmt',
    });
    // Every replica runs it; the Lease the pods name is the one their Role lets them hold, and only it.
    const leaseEnv = deploymentOf(on).spec?.template.spec?.containers[0]?.env?.find(
      (e) => e.name === 'ROTOR_CONTROLLER_LEASE',
    );
    const [leaseNs, leaseName] = (leaseEnv?.value ?? '').split('/');
    const role = ofKind(on, 'Role').find((o) => o.metadata.name.endsWith('-controller-lease'));
    expect(role?.metadata.namespace).toBe(leaseNs);
    expect(role?.['rules']).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [leaseName],
        verbs: ['get', 'update'],
      },
    ]);
    expect(ofKind(on, 'RoleBinding').find((o) => o.metadata.name === role?.metadata.name)).toBeDefined();
  });

  it('leaves the cluster-wide requester-identity policy to one release per cluster', async () => {
    const names = (objs: K8sObject[]) => ofKind(objs, 'ValidatingAdmissionPolicyBinding').map((o) => o.metadata.name);
    expect(names(await template())).toContain(identityPolicyName);
    expect(names(await template('--set', 'requesterIdentityPolicy.enabled=false'))).not.toContain(identityPolicyName);
  });

  it('renders the ServiceMonitor only when the cluster serves its CRD', async () => {
    expect(ofKind(await template(), 'ServiceMonitor')).toEqual([]);
    const withCrd = await template('--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor');
    expect(ofKind(withCrd, 'ServiceMonitor')).toHaveLength(1);
  });

  it('pins a digest and a build id when given', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const d = deploymentOf(await template('--set', `image.digest=${digest}`, '--set', 'versioning.buildId=wf-1'));
    const c = d.spec?.template.spec?.containers[0];
    expect(c?.image).toBe(`registry.example.com/rotor/worker@${digest}`);
    expect(c?.env?.find((e) => e.name === 'ROTOR_BUILD_ID')?.value).toBe('wf-1');
  });

  it('keeps each build of an upgrade in a Deployment of its own, and refuses draining without build ids', async () => {
    const draining = JSON.stringify([{ buildId: 'wf-a', image: { repository: 'registry.example.com/w', tag: 'a' } }]);
    const objs = await template('--set', 'versioning.buildId=wf-b', '--set-json', `versioning.draining=${draining}`);
    const ds = ofKind(objs, 'Deployment') as unknown as V1Deployment[];
    const byName = Object.fromEntries(ds.map((d) => [d.metadata?.name ?? '', d]));
    expect(Object.keys(byName).sort()).toEqual(['rotor-wf-a', 'rotor-wf-b']);
    const view = (d: V1Deployment | undefined) => {
      const c = d?.spec?.template.spec?.containers[0];
      const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
      return {
        replicas: d?.spec?.replicas,
        selected: d?.spec?.selector.matchLabels?.['rotor.dev/build-id'],
        labelled: d?.spec?.template.metadata?.labels?.['rotor.dev/build-id'],
        image: c?.image,
        buildId: env['ROTOR_BUILD_ID'],
        deployment: env['ROTOR_DEPLOYMENT_NAME'],
      };
    };
    // Each selects only its own build's pods, so the two never adopt each other's.
    expect(view(byName['rotor-wf-b'])).toEqual({
      replicas: 2,
      selected: 'wf-b',
      labelled: 'wf-b',
      image: 'registry.example.com/rotor/worker:0.1.0',
      buildId: 'wf-b',
      deployment: 'rotor',
    });
    expect(view(byName['rotor-wf-a'])).toEqual({
      replicas: 1,
      selected: 'wf-a',
      labelled: 'wf-a',
      image: 'registry.example.com/w:a',
      buildId: 'wf-a',
      deployment: 'rotor',
    });
    // Without a build id the one Deployment keeps the release's name (as before versioning.draining).
    expect(ofKind(await template(), 'Deployment').map((d) => d.metadata.name)).toEqual(['rotor']);
    expect(await refused('--set-json', `versioning.draining=${draining}`)).toMatch(
      /versioning.draining needs versioning.enabled and versioning.buildId/,
    );
    expect(await refused('--set', 'versioning.buildId=wf-a', '--set-json', `versioning.draining=${draining}`)).toMatch(
      /versioning.draining: build wf-a is the current versioning.buildId/,
    );
    expect(await refused('--set-json', 'versioning.draining=[{"buildId":"wf-a"}]')).toMatch(/image/);
  });

  it('adds hostAliases only when given (the local stack maps kubernetes.default.svc)', async () => {
    expect(deploymentOf(await template()).spec?.template.spec?.hostAliases).toBeUndefined();
    const aliases = [{ ip: '10.200.0.1', hostnames: ['kubernetes.default.svc'] }];
    const d = deploymentOf(await template('--set-json', `hostAliases=${JSON.stringify(aliases)}`));
    expect(d.spec?.template.spec?.hostAliases).toEqual(aliases);
  });

  it('refuses values the schema does not allow, naming the field', async () => {
    expect(await refused('--set', 'replicaCount=0')).toMatch(/replicaCount/);
    expect(await refused('--set', 'image.digest=latest')).toMatch(/digest/);
    expect(await refused('--set', 'vault.auth.method=userpass')).toMatch(/method/);
    // The policy is rotor's own schema: a field rotor does not know is refused at install.
    expect(await refused('--set', 'policy.allowEverything=true')).toMatch(/allowEverything/);
  });

  it('grants exactly the RBAC rotor rbac computes, bound to its own ServiceAccount', async () => {
    const env = useStackEnv();
    const generated = await runRotor(
      { ...process.env, ...env },
      'rbac',
      ...examplePlaybooks,
      '--helm-values',
      '--cluster',
      'cluster-a',
      '--namespace',
      release.namespace,
    );
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    // The example values carry the same block: regenerate them when a playbook's needs change.
    const example = parse(readFileSync(exampleValues, 'utf8')) as { rbac: unknown };
    expect(parse(generated.stdout)).toEqual({ rbac: example.rbac });

    const objs = await template();
    const subject = { serviceAccount: 'rotor', namespace: release.namespace };
    const expected = (await Promise.all(examplePlaybooks.map(loadPlaybook)))
      .flatMap((p) => rbacFor(p, subject))
      .filter((c) => c.context === 'cluster-a');
    expect(expected.length).toBeGreaterThan(0);
    const strip = (o: K8sObject) => {
      const { metadata, ...rest } = o;
      return { ...rest, name: metadata.name, namespace: metadata.namespace };
    };
    // The requester-identity policy is rotor's own, not generated per playbook (dev/crds.ts).
    expect(ofKind(objs, 'ValidatingAdmissionPolicy').map((o) => o.metadata.name)).toContain(identityPolicyName);
    const rendered = (kind: string) =>
      ofKind(objs, kind)
        .filter((o) => o.metadata.name !== identityPolicyName)
        .map(strip)
        .sort((a, b) => a.name.localeCompare(b.name));
    const want = (pick: (c: (typeof expected)[number]) => K8sObject[]) =>
      expected
        .flatMap(pick)
        .map(strip)
        .filter((o, i, all) => all.findIndex((x) => x.name === o.name) === i)
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(rendered('Role')).toEqual(want((c) => [c.role as unknown as K8sObject]));
    expect(rendered('RoleBinding')).toEqual(want((c) => [c.binding as unknown as K8sObject]));
    expect(rendered('ValidatingAdmissionPolicy')).toEqual(
      want((c) => (c.podPatchPolicy ? [c.podPatchPolicy.policy as unknown as K8sObject] : [])),
    );
    expect(rendered('ValidatingAdmissionPolicyBinding')).toEqual(
      want((c) => (c.podPatchPolicy ? [c.podPatchPolicy.binding as unknown as K8sObject] : [])),
    );
    // Labelled as rotor's own, as `rotor rbac` labels them: rotor doctor does not report its own binding.
    for (const o of [...ofKind(objs, 'Role'), ...ofKind(objs, 'RoleBinding')])
      expect(o.metadata).toMatchObject({ labels: { 'app.kubernetes.io/managed-by': 'rotor' } });
    // Every RoleBinding names the ServiceAccount the chart creates.
    const sa = ofKind(objs, 'ServiceAccount')[0];
    expect(sa?.metadata).toMatchObject({ name: 'rotor', namespace: release.namespace });
  });

  it('refuses an admission policy generated for another ServiceAccount', async () => {
    const example = parse(readFileSync(exampleValues, 'utf8')) as { rbac: unknown };
    const file = join(scratch, 'rbac.yaml');
    writeFileSync(file, stringify({ rbac: example.rbac }));
    const text = await refused('-f', file, '--set', 'serviceAccount.name=other');
    expect(text).toMatch(/rbac.admissionPolicies: .* is not for system:serviceaccount:rotor-system:other/);
  });

  it("is admitted by cluster-a's Pod Security admission at restricted", async () => {
    const core = kubeconfigFor('cluster-a').makeApiClient(CoreV1Api);
    const ns = `chart-psa-${Date.now().toString(36)}`;
    await core.createNamespace({
      body: {
        metadata: {
          name: ns,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        },
      },
    });
    try {
      // Pods are admitted only once the controller-manager has made the namespace's default ServiceAccount.
      for (
        let i = 0;
        (await statusOf(core.readNamespacedServiceAccount({ name: 'default', namespace: ns }))) !== 200;
        i++
      ) {
        if (i > 300) throw new Error(`no default ServiceAccount in ${ns} after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const d = deploymentOf(await template());
      const pod: V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'rotor-worker', namespace: ns },
        spec: { ...d.spec?.template.spec, serviceAccountName: 'default', volumes: [] },
      } as V1Pod;
      for (const c of pod.spec?.containers ?? []) c.volumeMounts = [];
      // A dry run goes through admission (Pod Security included) and stores nothing.
      await core.createNamespacedPod({ namespace: ns, body: pod, dryRun: 'All' });
      // The same pod with root allowed is refused there: the check is real.
      const rootPod = structuredClone(pod);
      if (rootPod.spec?.securityContext) rootPod.spec.securityContext.runAsNonRoot = false;
      const refusal = await core.createNamespacedPod({ namespace: ns, body: rootPod, dryRun: 'All' }).then(
        () => 'admitted',
        (e: unknown) => (JSON.parse(String((e as { body?: unknown }).body)) as { message: string }).message,
      );
      expect(refusal).toMatch(/violates PodSecurity "restricted/);
    } finally {
      await core.deleteNamespace({ name: ns });
    }
  });
});
