/**
 * The worker image (dev/image) runs: built (or taken from the cache) and imported into cluster-a's
 * containerd, it runs as a pod under the restricted profile's container settings (uid 65532,
 * read-only root, no capabilities, RuntimeDefault seccomp), becomes Ready through its /readyz
 * probe once it polls, rotates a secret (Vault, delivered to a cluster) with its bundled worker,
 * workflow bundle and core bridge, and stops cleanly when the pod is deleted (SIGTERM).
 *
 * The pod uses the node's network (hostNetwork): the stack's services listen on 127.0.0.1 of this
 * machine, which pods on the nodes' bridge cannot reach. That is a property of the local stack, not
 * of the image; the chart's pods do not use it (docs/production.md, "The local stack").
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { stackPaths } from '../../dev/local-stack/config';
import { stackNode } from '../../dev/local-stack/node/instance';
import { importImages } from '../../dev/local-stack/node/images';
import { buildWorkerImage } from '../../dev/image/worker-image';
import type { WorkerImage } from '../../dev/image/worker-image';
import { freshNamespace, kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { freePort } from '../helpers/private-service';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { until } from '../helpers/until';

const env = useStackEnv();
const kc = kubeconfigFor('cluster-a');
const core = kc.makeApiClient(CoreV1Api);

let image: WorkerImage;
let client: Client;
let ns: string;

beforeAll(async () => {
  const ctx = { paths: stackPaths(), log: (l: string) => console.log(l) };
  image = await buildWorkerImage(ctx.paths.cacheDir, ctx.log);
  await importImages(stackNode(ctx.paths.stateDir, 'cluster-a'), {
    file: image.file,
    digests: { [image.ref]: image.digest },
  });
  client = await connectClient();
  ns = await freshNamespace(kc, 'worker-image');
}, 900_000);

afterAll(async () => {
  await client?.connection.close();
  if (ns) await purgeNamespace(kc, ns);
});

describe('the worker image', () => {
  it('runs as uid 65532 on a read-only root, becomes ready once polling, rotates a secret, and stops on SIGTERM', async () => {
    const taskQueue = `image-${randomUUID()}`;
    const healthPort = await freePort();
    const file = (path: string) => readFileSync(path, 'utf8');
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'rotor-worker' },
        stringData: {
          'codec-key': file(env['ROTOR_CODEC_KEY_FILE'] ?? ''),
          'fingerprint-key': file(env['ROTOR_FINGERPRINT_KEY_FILE'] ?? ''),
          kubeconfig: file(env['KUBECONFIG'] ?? ''),
          policy: file(env['ROTOR_POLICY_FILE'] ?? ''),
        },
      },
    });
    const passOn = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'VAULT_ADDR', 'VAULT_TOKEN', 'AWS_REGION'];
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'worker' },
        spec: {
          hostNetwork: true,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'worker',
              image: image.ref,
              imagePullPolicy: 'Never',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              env: [
                ...passOn.map((name) => ({ name, value: env[name] ?? '' })),
                { name: 'ROTOR_TASK_QUEUE', value: taskQueue },
                { name: 'ROTOR_CODEC_KEY_FILE', value: '/etc/rotor/codec-key' },
                { name: 'ROTOR_FINGERPRINT_KEY_FILE', value: '/etc/rotor/fingerprint-key' },
                { name: 'KUBECONFIG', value: '/etc/rotor/kubeconfig' },
                { name: 'ROTOR_POLICY_FILE', value: '/etc/rotor/policy' },
                { name: 'ROTOR_METRICS_PORT', value: '0' },
                { name: 'ROTOR_HEALTH_PORT', value: String(healthPort) },
                { name: 'ROTOR_SHUTDOWN_GRACE_S', value: '10' },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: healthPort, host: '127.0.0.1' }, periodSeconds: 1 },
              volumeMounts: [{ name: 'config', mountPath: '/etc/rotor', readOnly: true }],
            },
          ],
          volumes: [{ name: 'config', secret: { secretName: 'rotor-worker', defaultMode: 0o440 } }],
        },
      },
    });
    const logs = () => core.readNamespacedPodLog({ namespace: ns, name: 'worker' }).catch(() => '');
    const ready = await until('the worker pod never became Ready', async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name: 'worker' });
      const waiting = p.status?.containerStatuses?.[0]?.state?.terminated;
      if (waiting) throw new Error(`the worker exited (${waiting.exitCode}):\n${await logs()}`);
      return p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    });
    expect(ready.status?.containerStatuses?.[0]?.image).toBe(image.ref);

    // A rotation the pod's worker runs alone: Vault, then delivered to a namespace of cluster-a.
    const ts = await vaultTestStore(`image-${randomUUID()}`);
    const delivered = await freshNamespace(kc, 'image-target');
    try {
      const playbook = testPlaybook(ts.store, {
        clusters: [{ name: 'cluster-a', delivery: 'push', namespace: delivered, secretName: 'app-credential' }],
      });
      const h = await client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [{ playbook, trigger: 'manual', requestedBy: 'image-test' } satisfies RotationInput],
      });
      const result = (await h.result()) as RotationResult;
      expect(result.outcome).toBe('rotated');
      const after = await ts.snapshot();
      expect((await secretData(kc, delivered, 'app-credential'))['value'] === after.currentValue).toBe(true);
    } finally {
      await purgeNamespace(kc, delivered);
    }

    // Deleting the pod sends SIGTERM: the worker drains and exits 0 within its grace period. Its
    // log is read until the pod is gone (the kubelet removes it only after the container exits).
    await core.deleteNamespacedPod({ namespace: ns, name: 'worker' });
    let last = '';
    let exit: number | undefined;
    await until(
      'the worker pod was never removed',
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name: 'worker' }).catch(() => undefined);
        if (!p) return true;
        exit = p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode ?? exit;
        // Once the container is removed the kubelet answers 200 with its own error text instead of
        // the log ("unable to retrieve container logs…", "failed to try resolving symlinks…"):
        // only a text that is the worker's log replaces the last one read.
        const text = await logs();
        if (text?.includes('rotor worker started')) last = text;
        return undefined;
      },
      90_000,
    );
    expect(last).toContain('rotor worker started');
    expect(last).toContain('rotor worker stopped');
    if (exit !== undefined) expect(exit).toBe(0);
  });
});
