/**
 * The consumer gate's contract and its pure rules. Before promote and again before revoke, every
 * pod reading the Secret must be able to read the version it is about to need: in-place consumers
 * are touched so their kubelet resyncs the mounted Secret, then either report what they read (an
 * opt-in log line, see README) or are given a bounded settle time; restart-only consumers must run
 * from the rollout that came after the new Secret. Names, versions and digests' verdicts only.
 */
import type { AdmissionGrant, ClusterVersions, RotationRef } from './contracts';
import type { ClusterTarget, Credential } from './playbook/schema';

/** Which swap the gate guards: promote, revoke, or (an undo) the restore onto the old version. */
export type GateStep = 'promote' | 'revoke' | 'restore';

export interface GateInput {
  /** The admission of the rotation being gated. */
  admission: AdmissionGrant;
  step: GateStep;
  rotation: RotationRef;
  /** What every cluster's Secret holds now (verified by the cluster step before the gate). */
  versions: ClusterVersions;
  clusters: ClusterTarget[];
  /** Clusters gated at once inside the activity. */
  parallelism: number;
  /** After a pod is touched, how long a consumer that does not report what it read is given to resync. */
  settleMs: number;
  /** How long one cluster's consumers may take before the cluster fails the gate. */
  boundMs: number;
  /** revoke: pods of listed workloads carrying this rollout token started with the new Secret. */
  rolloutToken?: string;
  /** revoke: epoch ms when every cluster served the new version as current; restart-only pods started later read it. */
  swappedAt?: number;
  /**
   * The ConfigMap of public material the kind publishes in every cluster: pods mounting it (readers
   * that may not mount the Secret at all) are resynced and waited for too, until they read every
   * id the step needs. Absent for kinds that publish none.
   */
  readers?: ConfigMapReaders;
}

/**
 * Readers of a published ConfigMap and what their reports name: a `jwt-signing-key`'s JWKS
 * verifiers read kids, a `vault-pki-ca-rollover`'s trust-bundle readers read CA fingerprints
 * (`sha256:<16 hex>` of each certificate's DER). Both public: they may appear in reports and messages.
 */
export interface ConfigMapReaders {
  configMap: string;
  key: string;
  holds: 'kid' | 'CA';
}

/** The ConfigMap whose readers a kind's consumer gate waits for beside the Secret's consumers; none for kinds that publish nothing. */
export function publishedReaders(credential: Credential): ConfigMapReaders | undefined {
  if (credential.kind === 'jwt-signing-key')
    return { configMap: credential.jwks.configMap, key: credential.jwks.key, holds: 'kid' };
  if (credential.kind === 'vault-pki-ca-rollover')
    return { configMap: credential.bundle.configMap, key: credential.bundle.key, holds: 'CA' };
  return undefined;
}

/** One cluster's gate result; `detail` names pods and versions only. */
export interface GateOutcome {
  cluster: string;
  ok: boolean;
  pods: number;
  /** In-place consumers whose own report showed they read the Secret as delivered. */
  reported: number;
  /** In-place consumers that do not report, given `settleMs` after their pod was touched. */
  settled: number;
  /** Restart-only consumers running from after the new Secret (revoke), or not needing it yet. */
  restarted: number;
  waitedMs: number;
  detail: string;
}

export interface GateReport {
  step: GateStep;
  outcomes: GateOutcome[];
}

/** The text a cluster's row shows for its gate, e.g. `promote gate ✔ 1.2s: 2 reported, 1 settled`. */
export function gateText(step: GateStep, o: GateOutcome): string {
  const counts = [
    o.reported ? `${o.reported} reported` : '',
    o.settled ? `${o.settled} settled` : '',
    o.restarted ? `${o.restarted} restart-only ok` : '',
  ].filter(Boolean);
  const head = `${step} gate ${o.ok ? '✔' : '✘'} ${(o.waitedMs / 1000).toFixed(1)}s`;
  if (!o.ok) return `${head}: ${o.detail}`;
  return o.pods === 0 ? `${head}: no consumer pods` : `${head}: ${counts.join(', ')}`;
}

/**
 * Parses one reporting consumer's log line: `rotor.dev/reads <key>=<digest> …` (after the
 * kubelet's timestamp, if any). Undefined for any other line.
 */
export function parseReadsLine(line: string, prefix: string): Map<string, string> | undefined {
  const at = line.indexOf(`${prefix} `);
  if (at < 0) return undefined;
  const reads = new Map<string, string>();
  for (const part of line
    .slice(at + prefix.length + 1)
    .trim()
    .split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0) reads.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return reads;
}

/** What a reporting consumer prints for a key it reads whose file does not exist. */
export const absentDigest = '-';

/**
 * Whether a consumer's report shows it reads the Secret as delivered: the current key must be
 * reported with the current version's digest, and the other key, when reported, with the other
 * version's (or as `-`, absent, when the Secret no longer holds one); a key not mentioned is one
 * the consumer does not read. `expected` maps each rotation
 * key to the digest it must show (null: absent); `versionOf` names the version of a known digest.
 */
export function judgeReads(
  reads: ReadonlyMap<string, string>,
  expected: { currentKey: string; current: string; otherKey: string; other: string | null },
  versionOf: (digest: string) => string | undefined,
): { ok: boolean; why: string } {
  const holds = (digest: string) => {
    const v = versionOf(digest);
    return v ? `version ${v}` : 'an unknown value';
  };
  const cur = reads.get(expected.currentKey);
  if (cur === undefined) return { ok: false, why: `does not report ${expected.currentKey}` };
  if (cur !== expected.current) return { ok: false, why: `reads ${holds(cur)} under ${expected.currentKey}` };
  const other = reads.get(expected.otherKey);
  // Not mentioned: the consumer does not read that key at all.
  if (other === undefined) return { ok: true, why: 'reads the Secret as delivered' };
  if (other === absentDigest) {
    if (expected.other === null) return { ok: true, why: 'reads the Secret as delivered' };
    return { ok: false, why: `does not read ${expected.otherKey} yet` };
  }
  if (expected.other === null) return { ok: false, why: `still reads ${holds(other)} under ${expected.otherKey}` };
  if (other !== expected.other) return { ok: false, why: `reads ${holds(other)} under ${expected.otherKey}` };
  return { ok: true, why: 'reads the Secret as delivered' };
}
