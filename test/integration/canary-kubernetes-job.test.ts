/**
 * The kubernetes-job canary on a real node: the Job's pod runs the locally built tools image with
 * the credential mounted, so success and failure are real exits of a real container. Each case
 * checks the credential never shows in the outcome and that the Job and its Secret are deleted.
 */
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeImages } from '../../dev/local-stack/config';
import { runCanaryCheck } from '../../adapters/canaries';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { canarySchema } from '../../core/playbook/schema';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';

const kc = stackKubeconfig();
const cluster = kubeconfigFor('cluster-a', kc);
const credential = 'kubernetes-job-canary-credential-0123456789';
let namespace = '';

beforeAll(async () => {
  namespace = await freshNamespace(cluster, 'canary-job');
});

afterAll(async () => {
  await purgeNamespace(cluster, namespace);
});

const canary = (name: string, script: string, timeout: string) =>
  canarySchema.parse({
    type: 'kubernetes-job',
    name,
    cluster: 'cluster-a',
    namespace,
    image: nodeImages.tools,
    command: ['/bin/sh', '-c', script],
    timeout,
  });

async function leftovers(name: string): Promise<unknown[]> {
  const jobs = await cluster.makeApiClient(BatchV1Api).listNamespacedJob({ namespace });
  const secrets = await cluster
    .makeApiClient(CoreV1Api)
    .listNamespacedSecret({ namespace, labelSelector: `rotor.dev/canary=${name}` });
  return [...jobs.items.filter((j) => j.metadata?.labels?.['rotor.dev/canary'] === name), ...secrets.items];
}

describe('kubernetes-job canary on a real node', () => {
  it('succeeds when the container, reading the mounted credential, exits 0', async () => {
    // The script checks the mounted file's length and that ROTOR_CREDENTIAL_FILE names it; it never prints it.
    const c = canary('ok', `test "$(wc -c < "$ROTOR_CREDENTIAL_FILE")" -eq ${credential.length}`, '90s');
    const out = await runCanaryCheck(c, credential, new AbortController().signal, { kube: createKubeClients(kc) });
    expect(out).toEqual({
      ok: true,
      detail: expect.stringMatching(
        /^Job canary-job-[0-9a-f]+\/rotor-canary-ok-[0-9a-f]{6} in cluster-a succeeded$/,
      ) as unknown,
    });
    expect(await leftovers('ok')).toEqual([]);
  });

  it('fails when the container exits non-zero, with its log and without the credential', async () => {
    const c = canary('refused', `echo "login refused for $(cat "$ROTOR_CREDENTIAL_FILE")" >&2; exit 3`, '90s');
    const out = await runCanaryCheck(c, credential, new AbortController().signal, { kube: createKubeClients(kc) });
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(
      /rotor-canary-refused-[0-9a-f]{6} in cluster-a failed.*pod rotor-canary-refused-\S+ Failed.*login refused for/,
    );
    expect(out.detail.includes(credential)).toBe(false);
    expect(await leftovers('refused')).toEqual([]);
  });

  it('times out naming the running pod when the container does not finish', async () => {
    const c = canary('slow', 'sleep 600', '8s');
    const out = await runCanaryCheck(c, credential, new AbortController().signal, { kube: createKubeClients(kc) });
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(
      /in cluster-a (did not finish within 8000ms: pod rotor-canary-slow-\S+ (Running|Pending)|failed \(DeadlineExceeded\))/,
    );
    expect(await leftovers('slow')).toEqual([]);
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
