/**
 * Who can read a rotated Secret, on the stack's cluster-a: from the RBAC objects, confirmed with
 * SubjectAccessReview. A planted Role and RoleBinding must add exactly the identities they grant;
 * a rotation records the list once, at plan, in its status and its audit trail, with no value.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { whoCanRead } from '../../inspect/who-can-read';
import type { ClusterReaders } from '../../core/contracts';
import type { AuditRecord } from '../../workers/audit-record';
import { auditSinks } from '../../workers/audit-sink';
import { depsFromEnv } from '../../workers/deps';
import { rotationWorkflowId } from '../../core/ids';
import { statusQuery } from '../../workflows/definitions';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';

useStackEnv();
const id = randomBytes(3).toString('hex');
const secretName = 'db-credentials';

describe('who can read (cluster-a)', () => {
  let kc: KubeConfig;
  let ns: string;
  let baseline: ClusterReaders;
  let planted: ClusterReaders;
  const target = () => ({ name: 'cluster-a', namespace: ns, secretName });

  beforeAll(async () => {
    kc = kubeconfigFor('cluster-a');
    ns = await freshNamespace(kc, 'readers');
    // Before anything is planted: the identities that can read any Secret here (cluster-wide grants).
    baseline = await whoCanRead(stackKubeconfig(), target());
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'db-readers' },
        rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'db-readers' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'db-readers' },
        subjects: [
          { kind: 'User', name: `alice-${id}`, apiGroup: 'rbac.authorization.k8s.io' },
          { kind: 'Group', name: `oncall-${id}`, apiGroup: 'rbac.authorization.k8s.io' },
          { kind: 'ServiceAccount', name: 'reporter', namespace: ns },
        ],
      },
    });
    // The reporter workload mounts the Secret: its service account is a known consumer.
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'reporter' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'reporter' } },
          template: {
            metadata: { labels: { app: 'reporter' } },
            spec: {
              serviceAccountName: 'reporter',
              containers: [
                { name: 'app', image: 'busybox', volumeMounts: [{ name: 'db', mountPath: '/etc/db', readOnly: true }] },
              ],
              volumes: [{ name: 'db', secret: { secretName } }],
            },
          },
        },
      },
    });
    planted = await whoCanRead(stackKubeconfig(), target());
  });
  afterAll(async () => {
    await purgeNamespace(kc, ns);
  });

  const added = (r: ClusterReaders) => {
    const before = new Set(baseline.readers.map((x) => x.identity));
    return r.readers.filter((x) => !before.has(x.identity));
  };

  it('lists exactly the identities the planted Role and RoleBinding grant, confirmed by SubjectAccessReview', () => {
    expect(baseline.unseen).toEqual([]);
    expect(planted.unseen).toEqual([]);
    expect(added(planted).map((r) => [r.identity, r.verbs, r.confirmed])).toEqual([
      [`group:oncall-${id}`, ['get', 'watch'], true],
      [`serviceaccount:${ns}/reporter`, ['get', 'watch'], true],
      [`user:alice-${id}`, ['get', 'watch'], true],
    ]);
    // The cluster-wide readers are unchanged by the planted namespace objects.
    expect(planted.readers.length).toBe(baseline.readers.length + 3);
  });

  it('flags readers that are not known consumers; the consumer service account is not flagged', () => {
    expect(planted.consumers).toEqual([`serviceaccount:${ns}/reporter`]);
    expect(Object.fromEntries(added(planted).map((r) => [r.identity, r.flagged]))).toEqual({
      [`group:oncall-${id}`]: true,
      [`serviceaccount:${ns}/reporter`]: false,
      [`user:alice-${id}`]: true,
    });
    expect(added(planted)[0]?.via).toEqual([`RoleBinding/${ns}/db-readers → Role/${ns}/db-readers (name)`]);
    // The stack's admin reaches every Secret as system:masters: listed, marked system, not flagged.
    expect(planted.readers.find((r) => r.identity === 'group:system:masters')).toMatchObject({
      system: true,
      flagged: false,
    });
  });

  it('a rotation records the readers once, at plan, in its status and audit trail, with no value', async () => {
    const initial = `readers-initial-${randomBytes(12).toString('hex')}`;
    const ts = await vaultTestStore(initial);
    const lines: string[] = [];
    const tw = await startTestWorker(createActivities(depsFromEnv()), auditSinks({ write: (l) => lines.push(l) }));
    const playbook = testPlaybook(ts.store, {
      clusters: [{ name: 'cluster-a', delivery: 'push', namespace: ns, secretName }],
    });
    const handle = await tw.client.workflow.start('rotationWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [{ playbook, trigger: 'manual', requestedBy: 'readers-test' }],
    });
    try {
      const out = await tw.run(() => outcomeOf(handle));
      expect(out.ok).toBe(true);
      const status = await tw.run(() => handle.query(statusQuery));
      const names = (r: ClusterReaders | undefined) => r?.readers.map((x) => x.identity);
      expect(names(status.readers?.[0])).toEqual(names(planted));
      const records = lines.map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.event === 'readers-listed');
      expect(records).toHaveLength(1);
      expect(names(records[0]?.readers?.[0])).toEqual(names(planted));
      const after = await ts.snapshot();
      const all = lines.join('');
      expect(all).not.toContain(initial);
      expect(all).not.toContain(after.currentValue);
    } finally {
      await tw.close();
    }
  });
});
