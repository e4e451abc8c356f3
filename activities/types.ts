/**
 * Shapes that cross the workflow/activity boundary. They carry version ids and keyed fingerprints
 * only — never a secret value — because everything here is recorded in Temporal history.
 */
import type { Canary, ClusterTarget, Credential, Store } from '../playbooks/schema';

/** Identifies one rotation run; activities derive idempotency tokens from it. */
export interface RotationRef {
  workflowId: string;
  runId: string;
}

/** A secret version and an HMAC of its value under a key only workers hold. */
export interface VersionRef {
  version: string;
  fingerprint: string;
}

export interface PlanInput {
  store: Store;
  rotation: RotationRef;
}

export interface PlanResult {
  current: VersionRef;
  /** The version labelled previous before this rotation, restored by compensation. */
  previousVersion: string | null;
  /** A pending version left by an earlier run that never finished; create supersedes it. */
  stalePendingVersion: string | null;
}

export interface CreateInput {
  store: Store;
  credential: Credential;
  rotation: RotationRef;
  currentVersion: string;
}

export interface DiscardInput {
  store: Store;
  credential: Credential;
  rotation: RotationRef;
  /** Unknown when create failed without answering; the store then finds this run's version itself. */
  pendingVersion: string | null;
  currentVersion: string;
  previousVersion: string | null;
}

export interface PromoteInput {
  store: Store;
  rotation: RotationRef;
  pendingVersion: string;
  currentVersion: string;
}

export interface DemoteInput extends PromoteInput {
  previousVersion: string | null;
}

export interface RevokeInput {
  store: Store;
  credential: Credential;
  rotation: RotationRef;
  /** The version that was current before the rotation and is now retired. */
  revokedVersion: string;
  currentVersion: string;
}

export interface FinalizeInput {
  store: Store;
  rotation: RotationRef;
  outcome: 'rotated' | 'rolled-back';
  currentVersion: string;
}

export interface CanaryInput {
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
}

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

/** Read-only view of what a rotation would touch in one cluster (`rotor plan`). Names only, no values. */
export interface ClusterPlan {
  cluster: string;
  context: string;
  delivery: ClusterTarget['delivery'];
  namespace: string;
  namespaceExists: boolean;
  secret: { name: string; exists: boolean; keys: string[]; managedBy?: string };
  externalSecrets: { name: string; store: string; refreshInterval?: string; ready?: string; problem?: string }[];
  workloads: { kind: string; name: string; found: boolean }[];
  /** Anything that would make delivery fail or that could not be checked (unreachable, forbidden, ...). */
  problems: string[];
}

export interface UnlistedConsumersInput {
  /** kubeconfig contexts to scan; every context of the worker's kubeconfig when omitted. */
  contexts?: string[];
  store: Store;
  /** The playbook's clusters; their contexts (context, else name) are not scanned. */
  listedClusters: Pick<ClusterTarget, 'name' | 'context'>[];
}

/** An ExternalSecret outside the playbook that reads the same store entry: part of the blast radius. */
export interface UnlistedConsumer {
  context: string;
  namespace: string;
  externalSecret: string;
  secretName: string;
  store: string;
}

export interface UnlistedConsumersResult {
  consumers: UnlistedConsumer[];
  /** Contexts that could not be scanned, with why (a plan should say what it could not see). */
  unscanned: { context: string; reason: string }[];
}

/** Per-cluster lifecycle shown by the status query. */
export type ClusterPhase =
  'pending' | 'delivering' | 'dual-read' | 'verified' | 'promoted' | 'revoked' | 'failed' | 'rolled-back';

/** Per-cluster activities (activities/kubernetes.ts); the workflow depends on this shape only. */
export interface ClusterActivities {
  /** Makes the cluster serve `versions` (push: writes the Secret; eso: pins and refreshes ExternalSecrets; observe: nothing). */
  deliverToCluster(input: ClusterInput): Promise<void>;
  /** Waits (heartbeating) until the cluster's Secret reads back exactly `versions`; fails ClusterNotConverged on timeout. */
  verifyCluster(input: ClusterInput): Promise<ClusterReport>;
}
