import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Playbook } from '../playbooks/schema';
import type { RevocationEvidence } from '../activities/credentials/kind';
import type { CanaryResult, ClusterPhase, VersionRef } from '../activities/types';

export type Trigger = 'manual' | 'schedule' | 'emergency';

/** What starts a rotation. Names and metadata only; the playbook holds no secret values. */
export interface RotationInput {
  playbook: Playbook;
  /** File the playbook came from, for operators. */
  playbookFile?: string;
  trigger: Trigger;
  requestedBy: string;
  reason?: string;
  /** Emergency rotation: tighter timeouts, no soak; `compromised` also skips the approval gate. */
  emergency?: { compromised: boolean };
}

export const stageNames = [
  'plan',
  'create',
  'distribute',
  'verify',
  'canary',
  'promote',
  'soak',
  'approval',
  'revoke',
  'finalize',
] as const;
export type StageName = (typeof stageNames)[number];

export type Phase = StageName | 'compensating' | 'rotated' | 'rolled-back' | 'needs-attention' | 'compensation-failed';

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
  compensation: { step: string; ok: boolean; error?: string }[];
  failure?: string;
  /** How the old credential was proven refused after revoke. */
  revocation?: RevocationEvidence;
}

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
}

export const statusQuery = defineQuery<RotationStatus>('statusQuery');
/** Releases the manual gate before revocation. Rejected when no approval is awaited. */
export const approveUpdate = defineUpdate<string, [OperatorAction]>('approveUpdate');
/** Aborts and compensates. Rejected once the old credential is being revoked (point of no return). */
export const abortUpdate = defineUpdate<string, [OperatorAction]>('abortUpdate');
export const skipSoakSignal = defineSignal<[OperatorAction]>('skipSoakSignal');
export const pauseSignal = defineSignal<[OperatorAction]>('pauseSignal');
export const resumeSignal = defineSignal<[OperatorAction]>('resumeSignal');
/** After the point of no return, asks a failing step to try again now. */
export const retrySignal = defineSignal<[OperatorAction]>('retrySignal');

/** Stable failure types of the workflow itself. */
export const WorkflowErrorTypes = {
  rolledBack: 'RotationRolledBack',
  compensationFailed: 'RotationCompensationFailed',
  aborted: 'RotationAborted',
  invalidPlaybook: 'InvalidPlaybook',
} as const;

/** Workflow id of a secret's rotation: one at a time per secret. */
export function rotationWorkflowId(secret: string): string {
  return `rotate/${secret}`;
}
