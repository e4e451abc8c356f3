/**
 * Rotation status vocabulary: stages, phases, per-cluster phases and the status the workflow
 * reports. Pure types and values, shared by workflows, the CLI and the worker.
 */
import type { Playbook } from './playbook/schema';
import type { ClusterConsumers } from './consumers';
import type { CanaryResult, ClusterReaders, RotationRef, VersionRef } from './contracts';

export type Trigger = 'manual' | 'schedule' | 'emergency';

/** What starts a rotation. Names and metadata only; the playbook holds no secret values. */
export interface RotationInput {
  playbook: Playbook;
  /** File the playbook came from, for operators. */
  playbookFile?: string;
  trigger: Trigger;
  requestedBy: string;
  /**
   * The management cluster namespace of the `RotationRequest` rotor's controller started this run
   * for (the request's tenant); absent for rotations started directly (CLI, schedules).
   */
  namespace?: string;
  reason?: string;
  /** Emergency rotation: tighter timeouts, no soak; `compromised` also skips the approval gate. */
  emergency?: { compromised: boolean };
  /** Set when a run stuck past the point of no return continued as new: where it carries on. */
  resume?: RotationResume;
  /**
   * rotor's controller vouches for this input (a RotationRequest or a RotationPlaybook's schedule):
   * what a worker under `identity: kubernetes` requires before it admits a rotation.
   */
  attestation?: ControllerAttestation;
}

/**
 * rotor's controller vouching for a rotation's input or an operator action: an HMAC under a key
 * only workers (and the controller in the worker process) hold, derived from the fingerprint key
 * and never from the codec key (adapters/controller-attestation.ts).
 */
export interface ControllerAttestation {
  keyId: string;
  /** When the controller made it (ms since the epoch); a request's or action's is valid briefly. */
  issuedAt: number;
  /** Set for a RotationPlaybook's schedule: the only schedule whose launcher may use it. */
  scheduleId?: string;
  /** Set for a RotationRequest or a RotationIncident (its uid): only the first run started with it may use it. */
  requestUid?: string;
  /** Set for a rotation of a RotationIncident: only a child of that incident's run may use it. */
  incidentId?: string;
  mac: string;
}

/** What a run past the point of no return carries into its continuation (names and versions only). */
export interface RotationResume {
  stage: 'revoke' | 'finalize';
  /** The first run's identity: store bookkeeping and idempotency tokens stay those of that run. */
  rotation: RotationRef;
  versions: { old: VersionRef; fresh: VersionRef };
  status: RotationStatus;
  /** The store location lock's key, taken again by the continuation. */
  lockKey?: string;
  attentionSince?: number;
  escalated: boolean;
  /** The MACs of the controller's action attestations the rotation took (each is taken once). */
  spentAttestations?: string[];
}

export const stageNames = [
  'plan',
  'create',
  'distribute',
  'verify',
  'canary',
  'promote-gate',
  'promote',
  'soak',
  'approval',
  'revoke-gate',
  'revoke',
  'finalize',
] as const;
export type StageName = (typeof stageNames)[number];

export type Phase =
  | StageName
  | 'compensating'
  | 'rotated'
  | 'rolled-back'
  | 'needs-attention'
  | 'compensation-failed'
  /** The admin policy refused the playbook, or its store location was locked: nothing was changed. */
  | 'refused';

export interface StageState {
  name: StageName;
  state: 'pending' | 'running' | 'done' | 'skipped' | 'failed';
  startedAt?: number;
  endedAt?: number;
  detail?: string;
}

export interface ClusterState {
  name: string;
  wave: number;
  phase: ClusterPhase;
  updatedAt: number;
  detail?: string;
  /** The latest consumer gate's verdict for this cluster, e.g. `promote gate ✔ 1.2s: 2 reported`. */
  gate?: string;
  /** Why this cluster failed a step; kept after a rollback restores it, so the run still names it. */
  failure?: string;
}

/** One undo's outcome, as compensation reports it (last-first, in `RotationStatus.compensation`). */
export interface UndoOutcome {
  step: string;
  ok: boolean;
  error?: string;
}

/** The status query's answer: everything an operator or the CLI shows. Never values. */
export interface RotationStatus {
  secret: string;
  playbook: string;
  trigger: Trigger;
  requestedBy: string;
  reason?: string;
  phase: Phase;
  startedAt: number;
  stages: StageState[];
  clusters: ClusterState[];
  current?: VersionRef;
  pending?: VersionRef;
  canaries: CanaryResult[];
  awaitingApproval: boolean;
  paused: boolean;
  pointOfNoReturn: boolean;
  attention?: string;
  compensation: UndoOutcome[];
  failure?: string;
  /** How the old credential was proven refused after revoke. */
  revocation?: RevocationEvidence;
  /** Per cluster, every identity that could read the Secret at plan (flagged: not a known consumer). */
  readers?: ClusterReaders[];
  /** Per cluster, the pods that read the Secret at plan and how. */
  consumers?: ClusterConsumers[];
  /**
   * Signals ignored because they carried no operator action encrypted with rotor's codec key (a
   * client without the key sent them), or, under `identity: kubernetes`, one rotor's controller did
   * not vouch for: how many, and the newest few. Nothing of their content.
   */
  refusedSignals?: RefusedSignals;
}

/** The signals a rotation refused (see `RotationStatus.refusedSignals`). */
export interface RefusedSignals {
  count: number;
  /** The newest refusals, oldest first, at most `refusedSignalsKept`. */
  last: { signal: string; at: number }[];
}

/** How many refused signals the status keeps by name and time (the count goes on). */
export const refusedSignalsKept = 10;

/** The status of a rotation that has just started: every stage pending, nothing decided yet. */
export function initialStatus(
  who: Pick<RotationStatus, 'secret' | 'playbook' | 'trigger' | 'requestedBy' | 'startedAt'> & {
    reason?: string | undefined;
  },
): RotationStatus {
  const { reason, ...rest } = who;
  return {
    ...rest,
    ...(reason ? { reason } : {}),
    phase: 'plan',
    stages: stageNames.map((name) => ({ name, state: 'pending' })),
    clusters: [],
    canaries: [],
    awaitingApproval: false,
    paused: false,
    pointOfNoReturn: false,
    compensation: [],
  };
}

export interface RotationResult {
  outcome: 'rotated';
  secret: string;
  previous: VersionRef;
  current: VersionRef;
  canaries: CanaryResult[];
  status: RotationStatus;
}

export interface OperatorAction {
  by: string;
  reason?: string;
  /** rotor's controller vouches for it (required under `identity: kubernetes`). */
  attestation?: ControllerAttestation;
}

/** Per-cluster lifecycle shown by the status query. */
export type ClusterPhase =
  'pending' | 'delivering' | 'dual-read' | 'verified' | 'promoted' | 'revoked' | 'failed' | 'rolled-back';

/** What rotor proved when it revoked an old credential; recorded in the run's result and audit trail. */
export interface RevocationEvidence {
  /** True when the old credential was really refused by the system it opens. */
  rejected: boolean;
  /** How it was checked and what the system answered, e.g. "login as app_a refused: password authentication failed". Never a value. */
  detail: string;
}
