/**
 * Incident vocabulary: one incident rotates many secrets as emergency rotations. Pure types
 * shared by the incident workflow, the CLI and the worker; names, states and reasons only — never
 * a secret value.
 */
import type { Playbook } from '../playbook/schema';
import type { ControllerAttestation } from '../status';

/** One playbook the incident rotates, with the file it came from. */
export interface IncidentTarget {
  playbook: Playbook;
  playbookFile: string;
  /**
   * rotor's controller vouching for this target's rotation as a child of the RotationIncident's run
   * (`identity: kubernetes`); absent for `rotor incident start`.
   */
  attestation?: ControllerAttestation;
}

/** What `rotor incident start` hands the incident workflow. */
export interface IncidentInput {
  reason: string;
  requestedBy: string;
  /** The RotationIncident's namespace (its tenant), when rotor's controller started it; its rotations carry it. */
  namespace?: string;
  /** Every rotation is a compromised-credential emergency (no approval gate, consumer problems warn). */
  compromised: boolean;
  /** The selection in words (labels, store prefix, cluster), for status and report. */
  selection: string;
  targets: IncidentTarget[];
  /** Rotations running at once, overall. */
  concurrency: number;
  /** Rotations running at once against one backend (Vault, a Secrets Manager region, a database, an apiserver). */
  perBackend: number;
  /** The incident continues as new (carrying its records) past this many history events. */
  maxHistoryEvents?: number;
  /** Set by the incident itself when it continues as new. */
  carried?: IncidentCarried;
}

/**
 * Where one rotation of the incident is. `skipped`: a rotation of that secret (or its store
 * location) was already running, so none was started; `needs-attention`: refused, compensation
 * failed, or ended in a way that is not a clean rollback.
 */
export type ChildState = 'pending' | 'running' | 'rotated' | 'rolled-back' | 'needs-attention' | 'skipped';

export const childStates: readonly ChildState[] = [
  'pending',
  'running',
  'rotated',
  'rolled-back',
  'needs-attention',
  'skipped',
];

/** One rotation of the incident. */
export interface ChildRecord {
  secret: string;
  workflowId: string;
  backends: string[];
  state: ChildState;
  startedAt?: number;
  endedAt?: number;
  /** Why it rolled back, needs attention or was skipped. */
  why?: string;
  /** Starts so far (a throttled rotation is started again after a back-off). */
  attempts: number;
}

/** What a continuation carries over: every record and the operator state. */
export interface IncidentCarried {
  records: ChildRecord[];
  paused: boolean;
  startedAt: number;
  /** How many runs came before this one. */
  continuations: number;
  /** Per backend key, until when (workflow time) no rotation starts there after throttling. */
  backoffUntil: Record<string, number>;
  /** Per backend key, how often it throttled a rotation (each back-off doubles). */
  throttles: Record<string, number>;
  /**
   * Per backend key, how many throttled answers running rotations reported (the rotation retried
   * them itself). Absent in runs carried over from before it existed.
   */
  reportedThrottles?: Record<string, number>;
  /**
   * Under `identity: kubernetes` (targets attested): the MACs of the controller's action
   * attestations this incident took, each once. Absent until one is taken.
   */
  spentAttestations?: string[];
  /** Pause, resume and abort the incident refused (see `IncidentRefusals`). Absent until one is refused. */
  refused?: IncidentRefusals;
}

/**
 * Operator actions an incident refused: one without an operator action (no codec key) or, under
 * `identity: kubernetes`, one rotor's controller did not vouch for. How many, and the newest few.
 */
export interface IncidentRefusals {
  count: number;
  /** The newest refusals, oldest first, at most `refusedSignalsKept`: the action, who it claimed to be from, why. */
  last: { action: string; by: string; at: number; why: string }[];
}

/** What a worker tells the incident when a backend throttled one of its running rotations. */
export interface BackendThrottled {
  /** The rotation's workflow id (`rotate/<secret>`). */
  workflowId: string;
  /** The activity the backend throttled. */
  activity: string;
}

/** The incident's status query answer. */
export interface IncidentStatus {
  incidentId: string;
  reason: string;
  requestedBy: string;
  compromised: boolean;
  selection: string;
  startedAt: number;
  paused: boolean;
  aborted?: { by: string; reason?: string };
  /** Whether the incident has ended (then `report` is its result). */
  ended: boolean;
  total: number;
  counts: Record<ChildState, number>;
  /** The running (or finished) rotations that took longest, slowest first. */
  slowest: { secret: string; state: ChildState; seconds: number }[];
  /** Every rotation that rolled back or needs attention, with why. */
  failed: { secret: string; state: ChildState; why: string }[];
  /** Backends paused by a throttling back-off, with until when. */
  backingOff: { backend: string; until: number }[];
  /** Per backend key, how often it throttled a rotation of this incident (see `throttleCounts`); absent from older builds. */
  throttles?: Record<string, number>;
  continuations: number;
  /** Pause, resume and abort the incident refused; absent when none was. */
  refused?: IncidentRefusals;
}

/** How the incident ended, worst first: any rotation needing attention makes it `needs-attention`. */
export type IncidentOutcome = 'rotated' | 'rolled-back' | 'needs-attention' | 'aborted';

/** The incident's result. */
export interface IncidentReport {
  outcome: IncidentOutcome;
  incidentId: string;
  reason: string;
  counts: Record<ChildState, number>;
  rotated: string[];
  rolledBack: { secret: string; why: string }[];
  needsAttention: { secret: string; why: string }[];
  skipped: { secret: string; why: string }[];
  /** Selected but never started (the incident was aborted first). */
  notStarted: string[];
  /** Per backend key, how often it throttled a rotation of this incident; absent from older builds. */
  throttles?: Record<string, number>;
  aborted?: { by: string; reason?: string };
}
