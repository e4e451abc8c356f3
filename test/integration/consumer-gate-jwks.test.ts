/**
 * The consumer gate covers a `jwt-signing-key`'s verifiers: real pods on the stack's node (kubelet
 * at its default 1 m sync period) mounting the JWKS ConfigMap, one reporting the kids it reads
 * (opt-in log lines) and one that does not. Nothing but the gate's resync annotation makes their
 * kubelets copy the ConfigMap within the rotation, yet both read the new key id before promote
 * switched the signing key.
 */
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { generateSigningJwk, parsePrivateJwk, publicOf } from '../../adapters/credentials/jwk';
import { readsLinePrefix, reportsReadsAnnotation } from '../../core/ids';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { readsLog, runningPodOf, waitRunning } from '../helpers/consumers';
import { freshNamespace, kubeconfigFor, purgeNamespace, sleeperTemplate } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

useStackEnv();
const kc = kubeconfigFor('cluster-a');
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const configMap = 'auth-jwks';
const key = 'jwks.json';

/** A Deployment mounting the JWKS at /jwks (a projected volume for `projected`) and printing its kids each second. */
function verifier(name: string, reports: boolean, projected: boolean): V1Deployment {
  const labels = { app: name };
  const template = sleeperTemplate(labels);
  const [container] = template.spec?.containers ?? [];
  if (!container || !template.spec) throw new Error('sleeperTemplate has no container');
  const kids = `grep -o '"kid":"[^"]*"' /jwks/${key} | cut -d'"' -f4 | tr '\\n' ','`;
  container.command = [
    '/bin/sh',
    '-c',
    `trap "exit 0" TERM\nwhile :; do\n  echo "${readsLinePrefix} ${key}=$(${kids})"\n  sleep 1\ndone`,
  ];
  container.volumeMounts = [{ name: 'jwks', mountPath: '/jwks', readOnly: true }];
  template.spec.volumes = [
    projected
      ? { name: 'jwks', projected: { sources: [{ configMap: { name: configMap } }] } }
      : { name: 'jwks', configMap: { name: configMap } },
  ];
  if (reports) template.metadata = { ...template.metadata, annotations: { [reportsReadsAnnotation]: 'app' } };
  return { metadata: { name }, spec: { replicas: 1, selector: { matchLabels: labels }, template } };
}

describe('consumer gate: JWKS verifiers (real pods)', () => {
  let tw: TestWorker;
  let namespace: string;
  let ts: TestStore;
  let playbook: ReturnType<typeof testPlaybook>;

  beforeAll(async () => {
    namespace = await freshNamespace(kc, 'gate-jwks');
    const initial = await generateSigningJwk('EdDSA');
    ts = await awsTestStore(JSON.stringify(initial));
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: configMap }, data: { [key]: JSON.stringify({ keys: [publicOf(initial)] }) } },
    });
    await apps.createNamespacedDeployment({ namespace, body: verifier('verifier-reports', true, false) });
    await apps.createNamespacedDeployment({ namespace, body: verifier('verifier-quiet', false, true) });
    await waitRunning(core, namespace, ['verifier-reports', 'verifier-quiet']);
    playbook = testPlaybook(ts.store, {
      credential: { kind: 'jwt-signing-key', algorithm: 'EdDSA', maxTokenLifetime: '2s', jwks: { configMap, key } },
      soak: '2s',
      clusters: [{ name: 'cluster-a', delivery: 'push', namespace, secretName: 'token-signer' }],
      consumerGate: { settle: '10s' },
    });
    tw = await startTestWorker(createActivities(depsFromEnv()));
  }, 150_000);
  afterAll(async () => {
    await tw.close();
    await purgeNamespace(kc, namespace).catch(() => undefined);
  });

  it('every verifier reads the new kid before promote switches the signing key', async () => {
    const old = parsePrivateJwk((await ts.snapshot()).currentValue, 'old').kid;
    const { out, status } = await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      const o = await outcomeOf(h);
      return { out: o, status: await h.query<RotationStatus>(statusQuery) };
    });
    expect(out.ok).toBe(true);
    const fresh = parsePrivateJwk((await ts.snapshot()).currentValue, 'new').kid;
    expect(fresh).not.toBe(old);
    const stage = (n: string) => status.stages.find((s) => s.name === n);
    const createAt = stage('create')?.startedAt ?? 0;
    const promoteAt = stage('promote')?.startedAt ?? 0;
    expect(createAt).toBeGreaterThan(0);
    expect(promoteAt).toBeGreaterThan(createAt);
    // Far below the kubelet's sync period: only the gate's touch made the kubelets copy the ConfigMap.
    expect(promoteAt - createAt).toBeLessThan(45_000);
    for (const app of ['verifier-reports', 'verifier-quiet']) {
      const pod = await runningPodOf(core, namespace, app);
      const lines = await readsLog(core, namespace, pod);
      const kidsAt = lines.map((l) => ({ at: l.at, kids: (l.reads.get(key) ?? '').split(',').filter(Boolean) }));
      // Before create, the old key only; before promote, the new one beside it.
      expect(kidsAt.filter((l) => l.at < createAt).at(-1)?.kids, app).toEqual([old]);
      const before = kidsAt.filter((l) => l.at < promoteAt).at(-1)?.kids;
      expect(before, app).toEqual(expect.arrayContaining([old, fresh]));
    }
    expect(status.clusters[0]?.gate).toMatch(/^revoke gate ✔ [\d.]+s: 1 reported, 1 settled$/);
  }, 240_000);
});
