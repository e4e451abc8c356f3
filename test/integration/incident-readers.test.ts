/**
 * `rotor incident start --readable-by`: the incident takes the playbooks whose delivered Secret a
 * given identity could read, from the real RBAC of the stack's cluster-a (inspect/who-can-read,
 * confirmed with SubjectAccessReview). A Role granting one service account one Secret selects that
 * playbook and not its neighbour; `--dry-run` starts nothing.
 */
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRotor } from '../helpers/cli';
import { freshNamespace, kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';

const env = { ...process.env, ...useStackEnv() };

describe('rotor incident start --readable-by (cluster-a)', () => {
  let kc: KubeConfig;
  let ns: string;
  beforeAll(async () => {
    kc = kubeconfigFor('cluster-a');
    ns = await freshNamespace(kc, 'incident-readers');
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'leaky' },
        rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['db-a'], verbs: ['get'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'leaky' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leaky' },
        subjects: [{ kind: 'ServiceAccount', name: 'leaky', namespace: ns }],
      },
    });
  });
  afterAll(async () => {
    await purgeNamespace(kc, ns);
  });

  it('selects the playbook whose Secret the identity can read, not its neighbour, and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-incident-readers-'));
    const [readable, other] = ['db-a', 'db-b'].map((secretName) => {
      const p = testPlaybook(
        { type: 'vault', mount: 'secret', path: `apps/readers/${secretName}`, key: 'value' },
        { clusters: [{ name: 'cluster-a', delivery: 'push', namespace: ns, secretName }] },
      );
      writeFileSync(join(dir, `${p.metadata.name}.yaml`), stringify(p));
      return p.spec.secret.name;
    });
    const run = await runRotor(
      env,
      'incident',
      'start',
      dir,
      '--readable-by',
      `serviceaccount:${ns}/leaky`,
      '--reason',
      'leaky service account token leaked',
      '--dry-run',
    );
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`would rotate ${readable ?? ''}`);
    expect(run.stdout).not.toContain(other);

    const bad = await runRotor(env, 'incident', 'start', dir, '--readable-by', 'leaky', '--reason', 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      '--readable-by must be user:<name>, group:<name> or serviceaccount:<namespace>/<name>',
    );
  });
});
