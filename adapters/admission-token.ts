/**
 * Admission grants: what the admission activity hands a rotation it admitted, and what every
 * side-effecting activity checks before it changes anything. Each part of the admitted plan (the
 * store location, the credential with its kind and roles, each cluster target, each canary) gets
 * its own tag, an HMAC under a key only workers hold over the part and the admitted run, so an
 * activity can check the parts its input names without carrying the whole plan. A crafted input
 * (another store, another cluster, another run) does not carry a valid tag.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AdmissionGrant, RotationRef } from '../core/contracts';
import type { Canary, ClusterTarget, Credential, Store } from '../core/playbook/schema';
import { derivedKeyring } from './keys';
import type { Keyring } from './keys';

/** JSON with object keys sorted, so one part always serializes alike (undefined fields dropped). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The admission keys: derived (HKDF-SHA256, its own label) from each fingerprint key, so they are
 * held by workers only, rotate with that keyring, and need no key of their own to provision.
 */
export function admissionKeys(fingerprintKeys: Keyring): Keyring {
  return derivedKeyring(fingerprintKeys, 'rotor admission grant v1', 'admission keys');
}

/** One part of an admitted plan, as tagged. */
export type GrantPart =
  | { part: 'store'; value: Store }
  | { part: 'credential'; value: Credential }
  | { part: 'cluster'; value: ClusterTarget }
  | { part: 'canary'; value: Canary };

function tag(key: Buffer, run: RotationRef, p: GrantPart): string {
  return createHmac('sha256', key)
    .update(canonicalJson({ v: 1, run: { workflowId: run.workflowId, runId: run.runId }, ...p }))
    .digest('base64url')
    .slice(0, 32);
}

/** What admission admitted: the parts a rotation may touch. */
export interface AdmittedPlan {
  store: Store;
  credential: Credential;
  clusters: readonly ClusterTarget[];
  canaries: readonly Canary[];
}

/** A grant for `run` (the executing workflow run that was admitted) over `plan`, under the newest key. */
export function issueGrant(keys: Keyring, run: RotationRef, plan: AdmittedPlan): AdmissionGrant {
  const { id, key } = keys.newest;
  const t = (p: GrantPart) => tag(key, run, p);
  return {
    run: { workflowId: run.workflowId, runId: run.runId },
    keyId: id,
    store: t({ part: 'store', value: plan.store }),
    credential: t({ part: 'credential', value: plan.credential }),
    clusters: Object.fromEntries(plan.clusters.map((c) => [c.name, t({ part: 'cluster', value: c })])),
    canaries: Object.fromEntries(plan.canaries.map((c) => [c.name, t({ part: 'canary', value: c })])),
  };
}

/** Whether two tags are equal, in constant time. */
export const sameTag = (a: string | undefined, b: string): boolean =>
  a !== undefined && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** What one activity input names, to be checked against a grant. */
export interface GrantScope {
  store?: Store | undefined;
  credential?: Credential | undefined;
  clusters?: readonly ClusterTarget[] | undefined;
  canary?: Canary | undefined;
}

/**
 * The parts of `scope` the grant does not cover, as readable problems (empty: all covered). The
 * grant's own key id picks the key, so grants issued before a key rotation verify while it is listed.
 */
export function grantProblems(keys: Keyring, grant: AdmissionGrant, scope: GrantScope): string[] {
  const key = keys.byId(grant.keyId);
  if (!key) return [`the grant's key '${grant.keyId}' is not in ${keys.source}`];
  const ok = (have: string | undefined, p: GrantPart) => sameTag(have, tag(key, grant.run, p));
  const problems: string[] = [];
  if (!scope.store) problems.push('the input names no store location to check');
  else if (!ok(grant.store, { part: 'store', value: scope.store }))
    problems.push('its store location was not admitted');
  if (scope.credential && !ok(grant.credential, { part: 'credential', value: scope.credential }))
    problems.push(`its credential (${scope.credential.kind}) was not admitted`);
  for (const c of scope.clusters ?? [])
    if (!ok(grant.clusters[c.name], { part: 'cluster', value: c }))
      problems.push(`cluster target ${c.name} (${c.namespace}/${c.secretName}) was not admitted`);
  if (scope.canary && !ok(grant.canaries[scope.canary.name], { part: 'canary', value: scope.canary }))
    problems.push(`canary ${scope.canary.name} was not admitted`);
  return problems;
}
