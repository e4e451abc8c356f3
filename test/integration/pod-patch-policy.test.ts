/**
 * The admission policy `rotor rbac` ships beside the Role, on a real apiserver (v1.34): rotor's
 * identity, holding `patch` on pods from the generated Role, can set the `rotor.dev/resync`
 * annotation (the real consumer gate touches a real consumer pod through it) and nothing else on a
 * pod: not a label, not another annotation, not the spec, not owners or finalizers. Other
 * identities are not affected. Every denial names the policy.
 */
import { randomBytes } from 'node:crypto';
import {
  AdmissionregistrationV1Api,
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { gateCluster } from '../../adapters/kubernetes/consumer-gate';
import { jsonPatch, mergePatch } from '../../adapters/kubernetes/patch';
import { resyncAnnotation } from '../../core/ids';
import type { GateInput } from '../../core/gate';
import type { ClusterTarget } from '../../core/playbook/schema';
import { podPatchPolicyName } from '../../inspect/pod-patch-policy';
import { rbacFor } from '../../inspect/rbac';
import { runningPodOf, volumeConsumer, waitRunning } from '../helpers/consumers';
import { kubeconfigFor, purgeNamespace, stackKubeconfig, statusOf } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { uncheckedGrant } from '../helpers/grants';

const context = 'cluster-c';
const admin = kubeconfigFor(context);
const adminCore = admin.makeApiClient(CoreV1Api);
const suffix = randomBytes(4).toString('hex');
const namespace = `vap-${suffix}`;
// An identity of this test's own, so the policy binds nobody else's rotor.
const subject = { serviceAccount: 'rotor', namespace: `vap-rotor-${suffix}` };
const secretName = 'vap-credential';
const cluster: ClusterTarget = { name: context, delivery: 'push', namespace, secretName, workloads: [] };
const playbook = testPlaybook({ type: 'aws', secretId: `vap/${suffix}` }, { clusters: [cluster] });
const generated = rbacFor(playbook, subject)[0];
const policyName = podPatchPolicyName(subject);

/** A kubeconfig reaching `context` as the bearer of `token`. */
function asToken(token: string): KubeConfig {
  const base = stackKubeconfig();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: [{ name: 'rotor', token }],
    contexts: base.contexts.filter((c) => c.name === context).map((c) => ({ ...c, user: 'rotor' })),
    currentContext: context,
  });
  return kc;
}

/** What a patch came to: 200, or the HTTP status and the apiserver's message. */
async function attempt(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
    return { code: 200, message: '' };
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
    return { code: e.code, message: body.message ?? '' };
  }
}

describe('pod patch admission policy (real apiserver)', () => {
  let rotorCore: CoreV1Api;
  let token = '';
  let pod: V1Pod;
  const podName = () => pod.metadata?.name ?? '';
  const patchAsRotor = (body: object, options = mergePatch) =>
    attempt(rotorCore.patchNamespacedPod({ name: podName(), namespace, body }, options));
  const denied = (what: string) => ({
    code: 403,
    message: expect.stringContaining(
      `ValidatingAdmissionPolicy '${policyName}' with binding '${policyName}' denied request: rotor may only set the ${resyncAnnotation} annotation on pods, not change ${what}`,
    ) as unknown,
  });

  beforeAll(async () => {
    if (!generated?.podPatchPolicy) throw new Error('rotor rbac generated no pod patch policy with the gate on');
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const admission = admin.makeApiClient(AdmissionregistrationV1Api);
    for (const ns of [namespace, subject.namespace])
      await adminCore.createNamespace({ body: { metadata: { name: ns } } });
    await adminCore.createNamespacedServiceAccount({
      namespace: subject.namespace,
      body: { metadata: { name: subject.serviceAccount } },
    });
    await rbac.createNamespacedRole({ namespace, body: generated.role });
    await rbac.createNamespacedRoleBinding({ namespace, body: generated.binding });
    await admission.createValidatingAdmissionPolicy({ body: generated.podPatchPolicy.policy });
    await admission.createValidatingAdmissionPolicyBinding({ body: generated.podPatchPolicy.binding });
    await adminCore.createNamespacedSecret({
      namespace,
      body: { metadata: { name: secretName }, stringData: { value: 'vap-initial' } },
    });
    const deployment = volumeConsumer('consumer', secretName, false);
    const template = deployment.spec?.template.metadata;
    if (template) template.annotations = { 'team.example.com/owner': 'payments' };
    await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace, body: deployment });
    const issued = await adminCore.createNamespacedServiceAccountToken({
      name: subject.serviceAccount,
      namespace: subject.namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    token = issued.status?.token ?? '';
    rotorCore = asToken(token).makeApiClient(CoreV1Api);
    await waitRunning(adminCore, namespace, ['consumer']);
    pod = await runningPodOf(adminCore, namespace, 'consumer');
    // A new policy takes effect once the apiserver has compiled it: probe with dry runs until it denies.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = await attempt(
        rotorCore.patchNamespacedPod(
          { name: podName(), namespace, body: { metadata: { labels: { probe: 'x' } } }, dryRun: 'All' },
          mergePatch,
        ),
      );
      if (probe.code === 403) break;
      if (Date.now() > deadline) throw new Error(`policy ${policyName} not in effect after 30s: ${probe.code}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 150_000);

  afterAll(async () => {
    const admission = admin.makeApiClient(AdmissionregistrationV1Api);
    await admission.deleteValidatingAdmissionPolicyBinding({ name: policyName }).catch(() => undefined);
    await admission.deleteValidatingAdmissionPolicy({ name: policyName }).catch(() => undefined);
    for (const ns of [namespace, subject.namespace]) await purgeNamespace(admin, ns).catch(() => undefined);
  }, 120_000);

  it('the real consumer gate touches the consumer pod as rotor, through the generated Role and the policy', async () => {
    const runId = `run-${suffix}`;
    const input: GateInput = {
      admission: uncheckedGrant,
      step: 'promote',
      rotation: { workflowId: `rotate/${playbook.spec.secret.name}`, runId },
      versions: {
        store: playbook.spec.secret.store,
        current: { version: '1', fingerprint: 'hmac:unused' },
        other: null,
        ...playbook.spec.dualRead,
      },
      clusters: [cluster],
      parallelism: 1,
      settleMs: 1000,
      boundMs: 30_000,
    };
    const values = { current: { version: '1', value: 'vap-initial' }, other: null };
    const outcome = await gateCluster(
      createKubeClients(asToken(token)),
      input,
      cluster,
      values,
      new AbortController().signal,
      () => undefined,
    );
    expect(outcome).toMatchObject({ ok: true, pods: 1, settled: 1 });
    const now = await adminCore.readNamespacedPod({ name: podName(), namespace });
    expect(now.metadata?.annotations?.[resyncAnnotation]).toBe(`${runId}/promote`);
  });

  it('rotor can set and change the resync annotation', async () => {
    expect(await patchAsRotor({ metadata: { annotations: { [resyncAnnotation]: 'run-1/promote' } } })).toEqual({
      code: 200,
      message: '',
    });
    expect(await patchAsRotor({ metadata: { annotations: { [resyncAnnotation]: 'run-1/revoke' } } })).toMatchObject({
      code: 200,
    });
    const now = await adminCore.readNamespacedPod({ name: podName(), namespace });
    expect(now.metadata?.annotations?.[resyncAnnotation]).toBe('run-1/revoke');
  });

  it('rotor cannot change a label, another annotation, the spec, owners or finalizers', async () => {
    expect(await patchAsRotor({ metadata: { labels: { app: 'hijacked' } } })).toEqual(denied('their labels'));
    expect(await patchAsRotor({ metadata: { labels: { extra: 'x' } } })).toEqual(denied('their labels'));
    expect(await patchAsRotor({ metadata: { annotations: { 'other.example.com/x': '1' } } })).toEqual(
      denied('other annotations'),
    );
    expect(await patchAsRotor({ metadata: { annotations: { 'team.example.com/owner': 'attacker' } } })).toEqual(
      denied('other annotations'),
    );
    expect(await patchAsRotor({ metadata: { annotations: { 'team.example.com/owner': null } } })).toEqual(
      denied('other annotations'),
    );
    // The resync annotation does not carry anything else through.
    expect(
      await patchAsRotor({
        metadata: { annotations: { [resyncAnnotation]: 'run-2/promote' }, labels: { extra: 'x' } },
      }),
    ).toEqual(denied('their labels'));
    expect(await patchAsRotor([{ op: 'add', path: '/spec/activeDeadlineSeconds', value: 60 }], jsonPatch)).toEqual(
      denied('their spec'),
    );
    expect(
      await patchAsRotor(
        [{ op: 'replace', path: '/spec/containers/0/image', value: 'attacker.example/img:1' }],
        jsonPatch,
      ),
    ).toEqual(denied('their spec'));
    expect(await patchAsRotor({ metadata: { finalizers: ['example.com/hold'] } })).toEqual(
      denied('their owners or finalizers'),
    );
    expect(await patchAsRotor({ metadata: { ownerReferences: null } })).toEqual(denied('their owners or finalizers'));
    // Nothing of it landed.
    const now = await adminCore.readNamespacedPod({ name: podName(), namespace });
    expect(now.metadata?.labels).toEqual(pod.metadata?.labels);
    expect(now.metadata?.annotations?.['team.example.com/owner']).toBe('payments');
    expect(now.spec?.activeDeadlineSeconds).toBeUndefined();
    expect(now.metadata?.ownerReferences).toEqual(pod.metadata?.ownerReferences);
  });

  it('binds only rotor: another identity with the same rights is not limited by it', async () => {
    expect(
      await statusOf(
        adminCore.patchNamespacedPod(
          { name: podName(), namespace, body: { metadata: { labels: { reviewed: 'yes' } } } },
          mergePatch,
        ),
      ),
    ).toBe(200);
  });
});
