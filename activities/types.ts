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
}

export interface ClusterReport {
  cluster: string;
  /** Fingerprints read back from the Secret, by key. */
  observed: Record<string, string>;
  rolledOutWorkloads: string[];
}

/** Per-cluster lifecycle shown by the status query. */
export type ClusterPhase = 'pending' | 'delivering' | 'dual-read' | 'verified' | 'promoted' | 'revoked' | 'failed' | 'rolled-back';
