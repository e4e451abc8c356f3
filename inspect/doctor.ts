/**
 * `rotor doctor`: read-only checks of how the playbooks' clusters expose their Secrets. Per
 * cluster: broad RBAC on Secrets and `escalate`/`bind`; per namespace: namespace-wide Secret
 * reads and automounted default tokens; per secret: static consumers, ExternalSecrets that ignore
 * refreshes, readers outside the consumers, and overdue rotations. Never reads a Secret.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { forceSyncProblem, targetSecretName } from '../adapters/kubernetes/eso-objects';
import {
  defaultServiceAccountAutomount,
  readExternalSecrets,
  readPodSources,
  readRbac,
} from '../adapters/kubernetes/inspect-reads';
import { errorText } from '../adapters/kubernetes/errors';
import type { PodSource } from '../adapters/kubernetes/inspect-reads';
import { clientsFor } from '../adapters/kubernetes/clients';
import type { Clients } from '../adapters/kubernetes/clients';
import type { Playbook } from '../core/playbook/schema';
import { automountsDefaultToken, secretConsumers } from './consumers';
import type { Finding } from './findings';
import { broadSecretGrants, escalationGrants, identityKey } from './rbac-grants';
import { whoCanRead } from './who-can-read';

/** What the doctor needs; `overdue` is injected so inspect/ stays free of Temporal wiring. */
export interface DoctorInput {
  playbooks: Playbook[];
  kubeconfig: KubeConfig;
  /** Names of overdue secrets, from rotation history; throws when history cannot be reached. */
  overdue?: (playbooks: Playbook[]) => Promise<{ secret: string; reason: string }[]>;
}

type Target = Playbook['spec']['clusters'][number] & { secret: string; playbook: Playbook };

const where = (kind: string, ns: string, name: string) => `${kind}/${ns}/${name}`;

/** A grant of Secrets to a group that is everyone (system:authenticated, system:serviceaccounts, …). */
function everyoneReads(
  cluster: string,
  resource: string,
  identity: string,
  verbs: readonly string[],
  via: string,
  what: string,
): Finding {
  return {
    severity: 'high',
    check: 'rbac-secrets-everyone',
    cluster,
    resource,
    problem: `${identity} may ${verbs.join('/')} ${what} (${via}): that group is every authenticated user or every service account, so any pod or person with a token reads it`,
    fix: `remove ${identity} from the binding and bind only the identities that need it, by name (resourceNames)`,
  };
}

/** Cluster-wide RBAC: ClusterRoleBindings reading every Secret, and escalate/bind outside admins. */
function rbacFindings(cluster: string, snap: Awaited<ReturnType<typeof readRbac>>, namespaces: string[]): Finding[] {
  const findings: Finding[] = [];
  for (const g of broadSecretGrants(snap, namespaces)) {
    if (g.system || g.rotor) continue;
    const cw = g.scope === 'cluster';
    if (g.broad) {
      findings.push(
        everyoneReads(
          cluster,
          g.binding,
          identityKey(g.identity),
          g.verbs,
          g.role,
          cw ? 'every Secret in every namespace' : `every Secret in namespace ${g.binding.split('/')[1] ?? ''}`,
        ),
      );
      continue;
    }
    findings.push({
      severity: cw ? 'high' : 'medium',
      check: cw ? 'rbac-secrets-cluster-wide' : 'rbac-secrets-namespace-wide',
      cluster,
      resource: g.binding,
      problem: `${identityKey(g.identity)} may ${g.verbs.join('/')} every Secret ${cw ? 'in every namespace' : `in namespace ${g.binding.split('/')[1] ?? ''}`} through ${g.role} (list and watch return values just like get)`,
      fix: `bind a Role that names only the Secrets it needs (resourceNames) with get only, in their namespace; remove ${g.binding}`,
    });
  }
  for (const g of escalationGrants(snap)) {
    findings.push({
      severity: 'high',
      check: 'rbac-escalate-bind',
      cluster,
      resource: g.binding,
      problem: `${identityKey(g.identity)} is granted ${g.verbs.join('/')} on RBAC objects through ${g.role}: it can grant itself any permission, including reading every Secret`,
      fix: `remove escalate, bind and * on roles/clusterroles from ${g.role}, or bind cluster-admin explicitly to real admins only`,
    });
  }
  return findings;
}

function consumerFindings(t: Target, sources: PodSource[]): Finding[] {
  const listed = new Set(t.workloads.map((w) => `${w.kind}/${w.name}`));
  return secretConsumers(sources, t.secretName).flatMap((c) => {
    const statics = c.modes.filter((m) => m !== 'volume');
    if (!statics.length) return [];
    const rolledOut = listed.has(`${c.source.kind}/${c.source.name}`);
    return [
      {
        severity: rolledOut ? 'medium' : 'high',
        check: c.modes.includes('subPath') && statics.length === 1 ? 'subpath-consumer' : 'env-consumer',
        cluster: t.name,
        secret: t.secret,
        resource: where(c.source.kind, c.source.namespace, c.source.name),
        problem: `containers ${c.staticContainers.join(', ')} read Secret ${t.secretName} through ${statics.join(', ')}: the value never updates in a running container${rolledOut ? '' : ', so it breaks when rotor revokes the old credential'}, and env values leak into crash dumps and /proc`,
        fix: rolledOut
          ? `mount the Secret as a volume without subPath (rotor already rolls ${c.source.kind}/${c.source.name} out)`
          : `mount the Secret as a volume without subPath, or list ${c.source.kind}/${c.source.name} under clusters[].workloads so rotor rolls it out`,
      } satisfies Finding,
    ];
  });
}

function automountFindings(cluster: string, sources: PodSource[], saAutomount: boolean | undefined): Finding[] {
  return sources
    .filter((s) => !s.owned && automountsDefaultToken(s.spec, saAutomount))
    .map((s) => ({
      severity: 'low',
      check: 'automount-default-token',
      cluster,
      resource: where(s.kind, s.namespace, s.name),
      problem:
        'mounts a service-account token of the default ServiceAccount (heuristic: a pod that uses the API usually has its own ServiceAccount); anyone who can exec into it gets that token',
      fix: 'set automountServiceAccountToken: false in the pod spec (or on the default ServiceAccount); give pods that call the API their own ServiceAccount',
    }));
}

async function secretFindings(c: Clients, kubeconfig: KubeConfig, t: Target): Promise<Finding[]> {
  const findings: Finding[] = [];
  const sources = await readPodSources(c, t.namespace);
  findings.push(...consumerFindings(t, sources));
  for (const es of await readExternalSecrets(c, t.namespace)) {
    if (targetSecretName(es) !== t.secretName) continue;
    const problem = forceSyncProblem(es);
    if (problem)
      findings.push({
        severity: 'high',
        check: 'eso-no-refresh',
        cluster: t.name,
        secret: t.secret,
        resource: where('ExternalSecret', t.namespace, es.metadata?.name ?? '?'),
        problem: `feeds Secret ${t.secretName} but ${problem.split('; ')[0] ?? problem}: rotations never reach it`,
        fix: problem.split('; ').slice(1).join('; ') || 'set a non-zero refreshInterval',
      });
  }
  const readers = await whoCanRead(kubeconfig, { ...t, context: t.context ?? t.name });
  for (const r of readers.readers) {
    if (r.broad && r.via.every((v) => v.endsWith('(name)'))) {
      findings.push(
        everyoneReads(
          t.name,
          where('Secret', t.namespace, t.secretName),
          r.identity,
          r.verbs,
          r.via.join('; '),
          `Secret ${t.secretName}`,
        ),
      );
      continue;
    }
    // Broad grants are reported once per binding by the RBAC check.
    if (!r.flagged || !r.via.every((v) => v.endsWith('(name)'))) continue;
    findings.push({
      severity: 'medium',
      check: 'rbac-reader-not-consumer',
      cluster: t.name,
      secret: t.secret,
      resource: where('Secret', t.namespace, t.secretName),
      problem: `${r.identity} can ${r.verbs.join('/')} it (${r.via.join('; ')}) but no pod or workload reading it runs as that identity`,
      fix: 'remove the Secret from that role (resourceNames) unless the identity really needs it; list its workload in the playbook if it is a consumer',
    });
  }
  return findings;
}

/** Runs every check; unreachable parts become `unseen` lines, so one bad cluster does not hide the rest. */
export async function runDoctor(input: DoctorInput): Promise<{ findings: Finding[]; unseen: string[] }> {
  const findings: Finding[] = [];
  const unseen: string[] = [];
  const targets: Target[] = input.playbooks.flatMap((p) =>
    p.spec.clusters.map((c) => ({ ...c, secret: p.spec.secret.name, playbook: p })),
  );
  const byContext = new Map<string, Target[]>();
  for (const t of targets) byContext.set(t.context ?? t.name, [...(byContext.get(t.context ?? t.name) ?? []), t]);

  await Promise.all(
    [...byContext].map(async ([context, ts]) => {
      const cluster = (ts[0] as Target).name;
      try {
        const c = clientsFor(input.kubeconfig, context);
        const namespaces = [...new Set(ts.map((t) => t.namespace))];
        findings.push(...rbacFindings(cluster, await readRbac(c, namespaces), namespaces));
        for (const ns of namespaces) {
          const [sources, sa] = await Promise.all([readPodSources(c, ns), defaultServiceAccountAutomount(c, ns)]);
          findings.push(...automountFindings(cluster, sources, sa));
        }
        for (const t of ts) findings.push(...(await secretFindings(c, input.kubeconfig, t)));
      } catch (e) {
        unseen.push(`cluster ${cluster} (context ${context}): could not be inspected: ${errorText(e)}`);
      }
    }),
  );

  if (input.overdue) {
    try {
      for (const o of await input.overdue(input.playbooks))
        findings.push({
          severity: 'medium',
          check: 'rotation-overdue',
          cluster: '-',
          secret: o.secret,
          resource: `RotationPlaybook/${o.secret}`,
          problem: `overdue for rotation: ${o.reason}`,
          fix: `rotate it now (rotor rotate <playbook>) and keep a schedule (rotor schedule sync <dir>)`,
        });
    } catch (e) {
      unseen.push(`rotation history (overdue secrets): ${errorText(e)}`);
    }
  }
  return { findings, unseen };
}

/** What no Kubernetes API read can show; printed with every report. */
export const apiBlindSpots = [
  'which containers really call the Kubernetes API: the automounted-token finding is a heuristic',
  'access outside RBAC: other authorizers (Node, webhook, ABAC), client certificates in system:masters, direct etcd access and etcd backups, root on nodes',
  'values already copied out of Secrets: env vars in running processes, crash dumps, logs, images',
];

/** The encryption-at-rest line of `unseen`, depending on whether a configuration file was checked. */
export function encryptionBlindSpot(checkedFile: boolean): string {
  return checkedFile
    ? 'whether each kube-apiserver really runs with that EncryptionConfiguration (--encryption-provider-config), and whether Secrets written before it were rewritten'
    : "encryption at rest: the API does not say how etcd stores Secrets; pass --encryption-config <file> with the apiserver's EncryptionConfiguration";
}
