import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  condition,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdmissionGrant, RotationRef, VersionRef } from '../../core/contracts';
import { ErrorTypes } from '../../core/failures';
import type { ClusterTarget } from '../../core/playbook/schema';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../../core/search-attributes';
import { initialStatus } from '../../core/status';
import type { Phase, RotationInput, RotationStatus, StageName } from '../../core/status';
import { StatusWriter } from '../../core/status-writer';
import type { ActivityWait, CallOptions } from '../activity-calls';
import { sinks } from '../audit';
import type { AuditEvent, AuditEventName } from '../audit';
import { renderDetails } from '../details';
import { profiles } from '../profiles';
import { Saga, rootMessage } from '../saga';

type Timeouts = RotationInput['playbook']['spec']['timeouts'];

/** How one call of `RotationRun.stage` reports. */
export interface StageOptions {
  /** Shown beside the stage while it runs (a wave, a gate). */
  detail?: string;
  /**
   * Whether this call completes the stage: false for a part of a stage that goes on in a later
   * call (the admission part of plan, all waves but the last of distribute). Default true.
   */
  completes?: boolean;
}

/** Operator decisions and the admission verdict's rule, as the gates read them. */
export interface GateState {
  approvedBy?: string | undefined;
  abortedBy?: string | undefined;
  /** From the admin policy: the requester may not approve their own rotation. */
  separationOfDuties: boolean;
  skipSoak: boolean;
  retryRequested: boolean;
  /** From the admin policy (`identity: kubernetes`): approve, abort, skip-soak and retry need rotor's controller's attestation. */
  attestedActions?: boolean;
  /** From the admin policy (`compromise.approval: required`): a compromised rotation does not skip its approval gate. */
  compromiseApproval?: boolean;
  /** The MACs of the action attestations taken so far: each serves one action (a continuation carries them). */
  spentAttestations: string[];
}

/** One needs-attention episode: when it began (undefined while nothing fails) and whether it escalated. */
export interface AttentionState {
  since?: number | undefined;
  escalated: boolean;
}

/** Clusters a step may have changed (restored on rollback), and where workloads rolled out. */
export interface ClusterState {
  readonly touched: Set<string>;
  readonly rolledOut: Set<string>;
  /** When every cluster served the new version as current (promote done); restart-only pods started later read it. */
  swappedAt?: number | undefined;
}

/**
 * The state of one rotation run and the few moves every stage makes: enter and leave a stage,
 * publish the status, write the audit trail. Status changes go through `writer` only.
 */
export class RotationRun {
  readonly spec: RotationInput['playbook']['spec'];
  readonly writer: StatusWriter;
  readonly saga = new Saga();
  readonly rotation: RotationRef;
  readonly forwardScope = new CancellationScope();
  /** What operators and the policy decided: written by the handlers and admission, read by the gates. */
  readonly gates: GateState = {
    separationOfDuties: false,
    skipSoak: false,
    retryRequested: false,
    spentAttestations: [],
  };
  /** The current needs-attention episode (attention.ts owns it; a continuation carries it). */
  readonly attention: AttentionState = { escalated: false };
  /** What the cluster steps did, for their undo (the cluster stages own it). */
  readonly clusters: ClusterState = { touched: new Set(), rolledOut: new Set() };
  /** The version that was current when the rotation began; current again after a rollback. */
  original: VersionRef | undefined;
  /** The store location lock's key, once admitted (carried into a continuation). */
  lockKey: string | undefined;
  /** What admission granted this run; every side-effecting activity input carries it. */
  grant: AdmissionGrant | undefined;

  constructor(readonly input: RotationInput) {
    this.spec = input.playbook.spec;
    const info = workflowInfo();
    const resume = input.resume;
    this.rotation = resume?.rotation ?? { workflowId: info.workflowId, runId: info.runId };
    this.attention.since = resume?.attentionSince;
    this.attention.escalated = resume?.escalated ?? false;
    this.lockKey = resume?.lockKey;
    this.gates.spentAttestations.push(...(resume?.spentAttestations ?? []));
    this.writer = new StatusWriter(
      resume?.status ??
        initialStatus({
          secret: this.spec.secret.name,
          playbook: input.playbook.metadata.name,
          trigger: input.trigger,
          requestedBy: input.requestedBy,
          reason: input.reason,
          startedAt: Date.now(),
        }),
    );
  }

  /**
   * The admission grant for a step that names no cluster: without the cluster tags, which an
   * activity checks only for the clusters its input names (see `admissionFor`). A step before
   * admission is a bug, refused as NotAdmitted.
   */
  get admission(): AdmissionGrant {
    return this.admissionFor([]);
  }

  /**
   * The admission grant carrying the tags of `clusters` only: a fleet's grant holds a tag per
   * cluster, and every input that carried all of them made the history grow with clusters × steps
   * (at 10,000 clusters each batch child's input would have carried 450 KB of tags).
   */
  admissionFor(clusters: readonly { name: string }[]): AdmissionGrant {
    const grant = this.grant;
    if (!grant)
      throw ApplicationFailure.create({
        type: ErrorTypes.notAdmitted,
        message: 'a step that changes something ran before admission; nothing was changed',
        nonRetryable: true,
      });
    const tags: Record<string, string> = {};
    for (const c of clusters) {
      const t = grant.clusters[c.name];
      if (t !== undefined) tags[c.name] = t;
    }
    return { ...grant, clusters: tags };
  }

  get status(): Readonly<RotationStatus> {
    return this.writer.status;
  }

  /** Phase into the status, the UI's search attributes and current details. */
  setPhase(phase: Phase): void {
    this.writer.phase(phase);
    upsertSearchAttributes([
      { key: RotationPhase, value: phase },
      { key: RotationSecret, value: this.status.secret },
      { key: RotationPlaybook, value: this.status.playbook },
      { key: RotationTrigger, value: this.status.trigger },
    ]);
    this.publish();
  }

  publish(): void {
    setCurrentDetails(renderDetails(this.status));
  }

  /** One audit-trail line (via the worker's sink): who, what, which versions — never values. */
  audit(event: AuditEventName, extra: Partial<AuditEvent> = {}): void {
    const s = this.status;
    sinks.audit.record({
      event,
      secret: s.secret,
      playbook: s.playbook,
      trigger: s.trigger,
      requestedBy: s.requestedBy,
      ...(s.reason ? { reason: s.reason } : {}),
      phase: s.phase,
      ...(s.current ? { current: s.current } : {}),
      ...(s.pending ? { pending: s.pending } : {}),
      ...extra,
    });
  }

  /** Emergency rotations get half the stage timeouts: a leaked credential cannot wait. */
  stageTimeout(stage: keyof Timeouts): number {
    const ms = this.spec.timeouts[stage];
    return this.input.emergency ? Math.max(10_000, Math.floor(ms / 2)) : ms;
  }

  /**
   * Options of a forward step of `stage`: store retries, bounded by the stage's timeout (queueing
   * for a worker has its own budget, activity-calls.ts); its waits are shown beside the stage.
   */
  forward(stage: keyof Timeouts & StageName): CallOptions {
    return { ...profiles.store, scheduleToCloseTimeout: this.stageTimeout(stage), onWait: this.showWait(stage) };
  }

  /** Shows a throttle or a long queue of a step of `stage` beside it, and logs it (never a value). */
  showWait(stage: StageName): (wait: ActivityWait) => void {
    return (wait) => {
      const seconds = Math.round(wait.waitMs / 1000);
      this.writer.stageNote(
        stage,
        wait.kind === 'throttled'
          ? `the backend throttled ${wait.summary.split(':')[0] ?? stage} (${wait.count}×): calling again in ${seconds} s`
          : `no worker started ${wait.summary.split(':')[0] ?? stage} within ${seconds} s (${wait.count}×): ` +
              'the workers are busy or none polls the task queue; still waiting',
      );
      this.publish();
    };
  }

  /**
   * Runs `body` as stage `name`. A stage entered again (the next wave) keeps its first start; the
   * audit trail (and so the stage-duration histogram) sees one start and, with `last` (default),
   * one completion per rotation.
   */
  async stage<T>(name: StageName, body: () => Promise<T>, opts: StageOptions = {}): Promise<T> {
    const { detail, completes = true } = opts;
    await condition(() => !this.status.paused);
    const first = this.writer.stage(name)?.startedAt === undefined;
    this.writer.stageStarted(name, Date.now(), detail);
    this.setPhase(name);
    const began = this.writer.stage(name)?.startedAt ?? Date.now();
    if (first) this.audit('stage-started', { stage: name, ...(detail ? { detail } : {}) });
    try {
      const result = await body();
      this.writer.stageDone(name, Date.now());
      if (completes) this.audit('stage-completed', { stage: name, durationMs: Date.now() - began });
      return result;
    } catch (err) {
      // Continuing as new is not a failure: the continuation carries on with this stage.
      if (err instanceof ContinueAsNew) throw err;
      this.writer.stageFailed(name, Date.now(), rootMessage(err));
      this.audit('stage-failed', { stage: name, detail: rootMessage(err), durationMs: Date.now() - began });
      throw err;
    } finally {
      this.publish();
    }
  }

  skip(name: StageName, detail: string): void {
    this.writer.stageSkipped(name, detail);
    this.audit('stage-skipped', { stage: name, detail });
  }

  touchedClusters(): ClusterTarget[] {
    return this.spec.clusters.filter((c) => this.clusters.touched.has(c.name));
  }
}
