/**
 * Shapes that cross the workflow/activity boundary. They carry version ids and keyed fingerprints
 * only — never a secret value — because everything here is recorded in Temporal history.
 */
import type { ClusterConsumers } from './consumers';
import type { Canary, ClusterTarget, Credential, Store } from './playbook/schema';

/** Identifies one rotation run; activities derive idempotency tokens from it. */
export interface RotationRef {
  workflowId: string;
  runId: string;
}

/**
 * What the admission activity issued to the run it admitted: per part of the admitted plan (store
 * location, credential, each cluster target, each canary) an HMAC under a worker-only key, bound to
 * that run. Every side-effecting activity checks the parts its input names, and that it was called
 * by that run (or its cluster-batch child), before changing anything (activities/admitted.ts).
 */
export interface AdmissionGrant {
  /** The admitted workflow run (the executing run, not the first run of a continued rotation). */
  run: RotationRef;
  /** Id of the admission key the tags were made with. */
  keyId: string;
  store: string;
  credential: string;
  /** Tag per cluster target, by cluster name. */
  clusters: Record<string, string>;
  /** Tag per canary, by canary name. */
  canaries: Record<string, string>;
}

/** A secret version and an HMAC of its value under a key only workers hold. */
export interface VersionRef {
  version: string;
  fingerprint: string;
}

export interface PlanInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  rotation: RotationRef;
  /** Clusters whose consumers are checked before anything changes (absent in histories before the check). */
  clusters?: Pick<ClusterTarget, 'name' | 'context' | 'namespace' | 'secretName' | 'workloads'>[];
  /**
   * A compromised-credential emergency: consumer problems are warnings, not refusals, so a pod in
   * the tenant's namespace cannot keep a leaked credential alive.
   */
  compromised?: boolean;
}

export interface PlanResult {
  current: VersionRef;
  /** The version labelled previous before this rotation, restored by compensation. */
  previousVersion: string | null;
  /** A pending version left by an earlier run that never finished; create supersedes it. */
  stalePendingVersion: string | null;
  /** Per cluster, every identity that can read the Secret (absent in runs recorded before it existed). */
  readers?: ClusterReaders[];
  /** Per cluster, the pods reading the Secret and how (absent in runs recorded before it existed). */
  consumers?: ClusterConsumers[];
  /** Consumer problems of a compromised emergency, which goes on: for the audit trail. */
  consumerWarnings?: string[];
}

/** Where one cluster's copy of the rotated Secret lives. */
export interface ReadersTarget {
  name: string;
  context?: string;
  namespace: string;
  secretName: string;
}

/** One identity that can read the Secret, and through which bindings. Names only. */
export interface SecretReader {
  /** `user:…`, `group:…` or `serviceaccount:<ns>/<name>`. */
  identity: string;
  kind: 'User' | 'Group' | 'ServiceAccount';
  /** Verbs the API server confirmed (SubjectAccessReview), or RBAC's when it could not be asked. */
  verbs: ('get' | 'list' | 'watch')[];
  /** `<binding> → <role> (<scope>)` for each grant. */
  via: string[];
  /** Built-in control-plane identity (system: names, kube-system service accounts). */
  system: boolean;
  /** Granted through a binding made by `rotor rbac` (the rotor worker itself), judged by the binding's content. */
  rotor: boolean;
  /** A group (or user) that stands for everyone: system:authenticated, system:serviceaccounts[:ns], anonymous. */
  broad?: boolean;
  /** The service account of a pod or workload that reads the Secret. */
  consumer: boolean;
  /** Can read it, but is neither a known consumer, rotor, nor system machinery. */
  flagged: boolean;
  /** The SubjectAccessReview confirmed it (false when rotor may not create SubjectAccessReviews). */
  confirmed: boolean;
}

/** Who can read one cluster's copy of the Secret. */
export interface ClusterReaders {
  cluster: string;
  namespace: string;
  secretName: string;
  readers: SecretReader[];
  /** Service accounts (`serviceaccount:<ns>/<name>`) of pods and workloads reading the Secret. */
  consumers: string[];
  /** What could not be determined, and why (the list is then incomplete). */
  unseen: string[];
  /** `readers` is empty because it equals this cluster's list (see core/readers.ts). */
  sameReadersAs?: string;
}

export interface CreateInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  credential: Credential;
  rotation: RotationRef;
  currentVersion: string;
}

export interface DiscardInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  credential: Credential;
  rotation: RotationRef;
  /** Unknown when create failed without answering; the store then finds this run's version itself. */
  pendingVersion: string | null;
  currentVersion: string;
  previousVersion: string | null;
}

export interface PromoteInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  rotation: RotationRef;
  pendingVersion: string;
  currentVersion: string;
  /**
   * The credential, for kinds whose target switches at promote (a CA rollover's default issuer);
   * absent in histories before it was passed.
   */
  credential?: Credential;
}

export interface DemoteInput extends PromoteInput {
  previousVersion: string | null;
}

export interface RevokeInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  credential: Credential;
  rotation: RotationRef;
  /** The version that was current before the rotation and is now retired. */
  revokedVersion: string;
  currentVersion: string;
}

/**
 * Kinds whose old credential may still be needed after promote (a CA's leaves): revoke first asks
 * the kind (`stillInUse`), before any cluster drops the old version.
 */
export const kindsCheckedBeforeRevoke: readonly Credential['kind'][] = ['vault-pki-ca-rollover'];

export interface FinalizeInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  rotation: RotationRef;
  outcome: 'rotated' | 'rolled-back';
  currentVersion: string;
}

export interface CanaryInput {
  /** The admission of the run calling (see AdmissionGrant). */
  admission: AdmissionGrant;
  store: Store;
  version: string;
  canary: Canary;
}

export interface CanaryResult {
  name: string;
  ok: boolean;
  durationMs: number;
  /** Why it failed, with any echo of the credential removed. */
  detail: string;
}

/** The versions a cluster must serve during a stage; the activity reads their values from the store. */
export interface ClusterVersions {
  store: Store;
  current: VersionRef;
  other: VersionRef | null;
  currentKey: string;
  otherKey: string;
  /**
   * `kubernetes.io/tls` for a `vault-pki-certificate`: the Secret has that type and also holds
   * `tls.crt`, `tls.key` and `ca.crt` of the current version. Absent: an Opaque Secret.
   */
  secretType?: typeof tlsSecretType;
}

/** The Secret type a `vault-pki-certificate` is delivered as. */
export const tlsSecretType = 'kubernetes.io/tls' as const;

export interface ClusterInput {
  cluster: ClusterTarget;
  rotation: RotationRef;
  versions: ClusterVersions;
  /**
   * When set, the cluster's listed workloads are rolled out once for this token (a pod-template
   * annotation; the same token again changes nothing, so retries coalesce) after the Secret has
   * converged, and verify waits until every rollout is complete and available.
   */
  rolloutToken?: string;
}

export interface ClusterReport {
  cluster: string;
  /** Fingerprints read back from the Secret, by key. */
  observed: Record<string, string>;
  rolledOutWorkloads: string[];
  /** Workloads (`Kind/name`) that consume the Secret and still need a rollout; rollouts are a later stage. */
  pendingRollouts?: string[];
  /** ExternalSecrets whose sync was checked (eso delivery). */
  externalSecrets?: string[];
  /** Time from the start of verification until the cluster was seen converged. */
  convergedAfterMs?: number;
  /** Value-free remarks for operators (e.g. why workloads were not rolled out). */
  notes?: string[];
}
