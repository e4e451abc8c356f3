/**
 * The stack's clusters run an apiserver but no controller-manager, scheduler or kubelet, so a Job
 * never gets a pod here: a successful kubernetes-job canary cannot be tested locally. What can be:
 * the canary creates its Job and Secret for real, fails with a clear timeout that says why, and
 * deletes both.
 */
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { canarySchema } from '../../core/playbook/schema';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';

const kc = stackKubeconfig();
const cluster = kubeconfigFor('cluster-a', kc);
let namespace = '';

beforeAll(async () => {
  namespace = await freshNamespace(cluster, 'canary-job');
});

afterAll(async () => {
  await purgeNamespace(cluster, namespace);
});

describe('kubernetes-job canary on a cluster that never runs pods', () => {
  it('times out naming the reason, never echoes the credential, and leaves no Job or Secret behind', async () => {
    const credential = 'kubernetes-job-canary-credential-0123456789';
    const c = canarySchema.parse({
      type: 'kubernetes-job',
      name: 'smoke',
      cluster: 'cluster-a',
      namespace,
      image: 'busybox:1.36',
      command: ['cat', '/var/run/rotor/credential'],
      timeout: '3s',
    });
    const out = await runCanaryCheck(c, credential, new AbortController().signal, { kube: createKubeClients(kc) });
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(
      /^Job canary-job-[0-9a-f]+\/rotor-canary-smoke-[0-9a-f]{6} in cluster-a did not finish within 3000ms: no pod was created/,
    );
    expect(out.detail.includes(credential)).toBe(false);
    const jobs = await cluster.makeApiClient(BatchV1Api).listNamespacedJob({ namespace });
    const secrets = await cluster
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace, labelSelector: 'rotor.dev/canary=smoke' });
    expect(jobs.items).toEqual([]);
    expect(secrets.items).toEqual([]);
  });

  it('names the contexts it has when the cluster is unknown', async () => {
    const c = canarySchema.parse({
      type: 'kubernetes-job',
      name: 'smoke',
      cluster: 'nowhere',
      namespace,
      image: 'busybox',
      command: ['true'],
    });
    const out = await runCanaryCheck(c, 'x'.repeat(20), new AbortController().signal, { kube: createKubeClients(kc) });
    expect(out).toEqual({
      ok: false,
      detail: "kubeconfig has no context 'nowhere' (it has: cluster-a, cluster-b, cluster-c)",
    });
  });
});
