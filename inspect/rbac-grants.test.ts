import type { V1ClusterRole, V1PolicyRule } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RbacSnapshot } from '../adapters/kubernetes/inspect-reads';
import { broadSecretGrants, escalationGrants, identityKey, secretReaders } from './rbac-grants';

const clusterRole = (name: string, rules: V1PolicyRule[]): V1ClusterRole => ({ metadata: { name }, rules });
const crb = (name: string, role: string, subjects: { kind: string; name: string; namespace?: string }[]) => ({
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects,
});
const rb = (
  ns: string,
  name: string,
  kind: 'Role' | 'ClusterRole',
  role: string,
  subjects: { kind: string; name: string; namespace?: string }[],
  labels?: Record<string, string>,
) => ({
  metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
  subjects,
});

const snap: RbacSnapshot = {
  clusterRoles: [
    clusterRole('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
    clusterRole('secret-lister', [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]),
    clusterRole('pods-only', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]),
    clusterRole('role-granter', [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind', 'escalate'] },
    ]),
    clusterRole('everything', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
    clusterRole('system:controller:thing', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]),
  ],
  clusterRoleBindings: [
    crb('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]),
    crb('ci-lister', 'secret-lister', [{ kind: 'ServiceAccount', name: 'ci', namespace: 'tools' }]),
    crb('pods', 'pods-only', [{ kind: 'User', name: 'viewer' }]),
    crb('granter', 'role-granter', [{ kind: 'User', name: 'mallory' }]),
    crb('system:controller:thing', 'system:controller:thing', [
      { kind: 'ServiceAccount', name: 'thing', namespace: 'kube-system' },
    ]),
    crb('dangling', 'no-such-role', [{ kind: 'User', name: 'ghost' }]),
  ],
  roles: [
    {
      metadata: { name: 'one-secret', namespace: 'app' },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['db'], verbs: ['get', 'watch'] }],
    },
    {
      metadata: { name: 'other-secret', namespace: 'app' },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['other'], verbs: ['get'] }],
    },
    {
      metadata: { name: 'all-secrets', namespace: 'app' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    },
  ],
  roleBindings: [
    rb('app', 'db-reader', 'Role', 'one-secret', [
      { kind: 'ServiceAccount', name: 'api' },
      { kind: 'Group', name: 'oncall' },
    ]),
    rb('app', 'other-reader', 'Role', 'other-secret', [{ kind: 'User', name: 'bob' }]),
    rb('app', 'ns-reader', 'Role', 'all-secrets', [{ kind: 'User', name: 'carol' }]),
    rb(
      'app',
      'rotor-db',
      'Role',
      'one-secret',
      [{ kind: 'ServiceAccount', name: 'rotor', namespace: 'rotor-system' }],
      { 'app.kubernetes.io/managed-by': 'rotor' },
    ),
    rb('elsewhere', 'x', 'ClusterRole', 'cluster-admin', [{ kind: 'User', name: 'dave' }]),
    rb('elsewhere', 'y', 'ClusterRole', 'everything', [{ kind: 'User', name: 'erin' }]),
  ],
};

describe('secretReaders', () => {
  const readers = secretReaders(snap, 'app', 'db');
  const summary = readers
    .map(
      (g) =>
        `${identityKey(g.identity)} ${g.verbs.join(',')} ${g.scope}${g.system ? ' system' : ''}${g.rotor ? ' rotor' : ''}`,
    )
    .sort();

  it('lists exactly the identities whose bindings reach the Secret, with resourceNames respected', () => {
    expect(summary).toEqual([
      'group:oncall get,watch name',
      'group:system:masters get,list,watch cluster system',
      'serviceaccount:app/api get,watch name',
      'serviceaccount:kube-system/thing get cluster system',
      'serviceaccount:rotor-system/rotor get,watch name rotor',
      'serviceaccount:tools/ci list cluster',
      'user:carol get,list namespace',
    ]);
  });

  it('ignores other namespaces, other names, other resources and bindings to missing roles', () => {
    const ids = readers.map((g) => identityKey(g.identity));
    for (const absent of ['user:bob', 'user:dave', 'user:viewer', 'user:ghost']) expect(ids).not.toContain(absent);
  });
});

describe('broadSecretGrants', () => {
  it.each([
    [
      ['app'],
      [
        'group:system:masters cluster',
        'serviceaccount:kube-system/thing cluster',
        'serviceaccount:tools/ci cluster',
        'user:carol namespace',
      ],
    ],
    [
      ['elsewhere'],
      [
        'group:system:masters cluster',
        'serviceaccount:kube-system/thing cluster',
        'serviceaccount:tools/ci cluster',
        'user:dave namespace',
        'user:erin namespace',
      ],
    ],
  ])('in namespaces %j: cluster-wide grants plus namespace-wide ones there', (namespaces, expected) => {
    const got = broadSecretGrants(snap, namespaces)
      .map((g) => `${identityKey(g.identity)} ${g.scope}`)
      .sort();
    expect(got).toEqual(expected);
  });
});

describe('escalationGrants', () => {
  it('flags escalate/bind (or *) outside system roles and cluster-admin', () => {
    const got = escalationGrants(snap).map((g) => `${identityKey(g.identity)} ${g.verbs.join(',')} ${g.binding}`);
    expect(got).toEqual([
      'user:mallory bind,escalate ClusterRoleBinding/granter',
      'user:erin * RoleBinding/elsewhere/y',
    ]);
  });
});

describe('grants that only look harmless', () => {
  const rotorLabel = { 'app.kubernetes.io/managed-by': 'rotor' };
  const tricky: RbacSnapshot = {
    clusterRoles: [
      clusterRole('system:secret-reader', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]),
      clusterRole('secret-getter', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]),
    ],
    clusterRoleBindings: [
      // A system-named binding and role, granting every Secret to every authenticated user.
      crb('system:oops', 'system:secret-reader', [{ kind: 'Group', name: 'system:authenticated' }]),
      // Labelled as rotor's, but cluster-wide.
      {
        ...crb('rotor-wide', 'secret-getter', [{ kind: 'User', name: 'mallory' }]),
        metadata: { name: 'rotor-wide', labels: rotorLabel },
      },
    ],
    roles: [
      {
        metadata: { name: 'one-secret', namespace: 'app' },
        rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['db'], verbs: ['get'] }],
      },
      {
        metadata: { name: 'all-secrets', namespace: 'app' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
      },
    ],
    roleBindings: [
      rb('app', 'every-sa', 'Role', 'one-secret', [{ kind: 'Group', name: 'system:serviceaccounts:app' }]),
      // Labelled as rotor's: a user, not a service account.
      rb('app', 'rotor-user', 'Role', 'one-secret', [{ kind: 'User', name: 'eve' }], rotorLabel),
      // Labelled as rotor's: a service account, but every Secret of the namespace.
      rb('app', 'rotor-all', 'Role', 'all-secrets', [{ kind: 'ServiceAccount', name: 'spy' }], rotorLabel),
      // What `rotor rbac` really makes.
      rb(
        'app',
        'rotor-db',
        'Role',
        'one-secret',
        [{ kind: 'ServiceAccount', name: 'rotor', namespace: 'rotor-system' }],
        rotorLabel,
      ),
    ],
  };
  const line = (g: ReturnType<typeof secretReaders>[number]) =>
    `${identityKey(g.identity)}${g.system ? ' system' : ''}${g.rotor ? ' rotor' : ''}${g.broad ? ' broad' : ''}`;

  it('system:authenticated and system:serviceaccounts are broad, never system, whatever the binding is called', () => {
    expect(secretReaders(tricky, 'app', 'db').map(line).sort()).toEqual([
      'group:system:authenticated broad',
      'group:system:serviceaccounts:app broad',
      'serviceaccount:app/spy',
      'serviceaccount:rotor-system/rotor rotor',
      'user:eve',
      'user:mallory',
    ]);
  });

  it('broad grants of every Secret stay in the broad list', () => {
    expect(broadSecretGrants(tricky, ['app']).map(line).sort()).toEqual([
      'group:system:authenticated broad',
      'serviceaccount:app/spy',
      'user:mallory',
    ]);
  });
});
