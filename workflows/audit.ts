import { proxySinks } from '@temporalio/workflow';
import type { Sinks } from '@temporalio/workflow';
import type { ClusterReaders, VersionRef } from '../core/contracts';

export type AuditEventName =
  | 'rotation-started'
  | 'readers-listed'
  | 'stage-started'
  | 'stage-completed'
  | 'stage-failed'
  | 'stage-skipped'
  | 'cluster-phase'
  | 'consumer-gate'
  | 'operator-action'
  | 'compensation-started'
  | 'undo-completed'
  | 'undo-failed'
  | 'needs-attention'
  | 'needs-attention-escalated'
  | 'approval-timed-out'
  | 'rotation-completed'
  | 'rotation-rolled-back'
  | 'compensation-failed'
  /** A workflow that is not rotor's held the store lock's id and was terminated. */
  | 'lock-squatter-evicted';

/**
 * One state change of a rotation, for the audit trail and metrics. Names, versions and keyed
 * fingerprints only — never values. Worker-side fields (time, workflow id, run id) are added by
 * the sink.
 */
export interface AuditEvent {
  event: AuditEventName;
  secret: string;
  playbook: string;
  trigger: string;
  requestedBy: string;
  reason?: string;
  stage?: string;
  cluster?: string;
  phase?: string;
  current?: VersionRef;
  pending?: VersionRef;
  outcome?: string;
  detail?: string;
  /** Milliseconds the stage or the rotation took, on completion events. */
  durationMs?: number;
  by?: string;
  /** On `readers-listed`: per cluster, who could read the Secret before rotation (names only). */
  readers?: ClusterReaders[];
}

/**
 * Audit events leave the workflow through a sink: they are handled on the worker, not recorded in
 * history (no history growth per cluster change) and not re-emitted on replay.
 */
export interface RotorSinks extends Sinks {
  audit: { record(event: AuditEvent): void };
}

export const sinks = proxySinks<RotorSinks>();
