import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { RotationActivities } from '../activities/index';
import type { RotationRef, VersionRef } from '../core/contracts';
import type { ClusterTarget } from '../core/playbook/schema';
import { formatProblem, validatePlaybook } from '../core/playbook/validate';
import { inWindow, syncCluster, wavesOf } from './clusters';
import type { ClusterStep } from './clusters';
import {
  abortUpdate,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  retrySignal,
  skipSoakSignal,
  statusQuery,
} from './definitions';
import { sinks } from './audit';
import type { AuditEvent, AuditEventName } from './audit';
import { renderDetails } from './details';
import { msUntilWindow } from './window';
import { profiles } from './profiles';
import { Saga, rootMessage } from './saga';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../core/search-attributes';
import { WorkflowErrorTypes } from '../core/failures';
import { initialStatus } from '../core/status';
import type { OperatorAction, Phase, RotationInput, RotationResult, RotationStatus, StageName } from '../core/status';
import type { ClusterPhase } from '../core/status';

type Acts = RotationActivities;
type ActivityFn = Acts[keyof Acts];

/**
 * One staged rotation of one secret: plan → create → distribute → verify → canary → promote →
 * soak → approval → revoke → finalize. Every step that changes the world registers its undo as
 * soon as it succeeds; a failure or an abort before revocation rolls back last-first. The
 * workflow only ever sees version ids and keyed fingerprints.
 */
export async function rotationWorkflow(input: RotationInput): Promise<RotationResult> {
  // Whoever started the run (CLI, schedule, UI, another tool), the worker refuses an invalid
  // playbook with the same messages as `rotor validate`, before anything is changed.
  const checked = validatePlaybook(input.playbook, input.playbookFile ?? 'workflow input');
  if ('problems' in checked) {
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.invalidPlaybook,
      message: `invalid playbook, nothing was changed:\n${checked.problems.map(formatProblem).join('\n')}`,
      nonRetryable: true,
    });
  }
  return new Rotation({ ...input, playbook: checked.playbook }).run();
}

class Rotation {
  private readonly spec;
  private readonly status: RotationStatus;
  private readonly saga = new Saga();
  private readonly rotation: RotationRef;
  private readonly forwardScope = new CancellationScope();
  private approvedBy: string | undefined;
  private skipSoak = false;
  private retryRequested = false;
  private abortedBy: string | undefined;
  /** The version that was current when the rotation began; current again after a rollback. */
  private original: VersionRef | undefined;

  constructor(private readonly input: RotationInput) {
    this.spec = input.playbook.spec;
    const info = workflowInfo();
    this.rotation = { workflowId: info.workflowId, runId: info.runId };
    this.status = initialStatus({
      secret: this.spec.secret.name,
      playbook: input.playbook.metadata.name,
      trigger: input.trigger,
      requestedBy: input.requestedBy,
      reason: input.reason,
      startedAt: Date.now(),
    });
    this.registerHandlers();
  }

  private registerHandlers(): void {
    setHandler(statusQuery, () => this.status);
    setHandler(
      approveUpdate,
      ({ by, reason }) => {
        this.approvedBy = by;
        this.audit('operator-action', { detail: 'approve', by, ...(reason ? { reason } : {}) });
        return `approved by ${by}`;
      },
      {
        validator: (_action: OperatorAction) => {
          if (!this.spec.approval.beforeRevoke) throw new Error('this rotation has no approval gate');
          if (this.approvedBy) throw new Error(`already approved by ${this.approvedBy}`);
        },
      },
    );
    setHandler(
      abortUpdate,
      ({ by, reason }) => {
        this.abortedBy = `${by}${reason ? `: ${reason}` : ''}`;
        this.audit('operator-action', { detail: 'abort', by, ...(reason ? { reason } : {}) });
        this.forwardScope.cancel();
        return 'aborting: compensation runs now';
      },
      {
        validator: (_action: OperatorAction) => {
          if (this.status.pointOfNoReturn) {
            throw new Error(
              'cannot abort: the old credential is already being revoked (point of no return); the rotation will finish forward',
            );
          }
          if (this.abortedBy) throw new Error(`already aborted by ${this.abortedBy}`);
        },
      },
    );
    setHandler(skipSoakSignal, ({ by }) => {
      this.skipSoak = true;
      this.audit('operator-action', { detail: 'skip-soak', by });
    });
    setHandler(pauseSignal, ({ by }) => {
      this.status.paused = true;
      this.audit('operator-action', { detail: 'pause', by });
      this.publish();
    });
    setHandler(resumeSignal, ({ by }) => {
      this.status.paused = false;
      this.audit('operator-action', { detail: 'resume', by });
      this.publish();
    });
    setHandler(retrySignal, ({ by }) => {
      this.retryRequested = true;
      this.audit('operator-action', { detail: 'retry', by });
    });
  }

  /** Phase into the status, the UI's search attributes and current details. */
  private setPhase(phase: Phase): void {
    this.status.phase = phase;
    upsertSearchAttributes([
      { key: RotationPhase, value: phase },
      { key: RotationSecret, value: this.status.secret },
      { key: RotationPlaybook, value: this.status.playbook },
      { key: RotationTrigger, value: this.status.trigger },
    ]);
    this.publish();
  }

  private publish(): void {
    setCurrentDetails(renderDetails(this.status));
  }

  /** One audit-trail line (via the worker's sink): who, what, which versions — never values. */
  private audit(event: AuditEventName, extra: Partial<AuditEvent> = {}): void {
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
  private stageTimeout(stage: keyof typeof this.spec.timeouts): number {
    const ms = this.spec.timeouts[stage];
    return this.input.emergency ? Math.max(10_000, Math.floor(ms / 2)) : ms;
  }

  private call<F extends ActivityFn>(
    name: keyof Acts,
    options: ActivityOptions,
    summary: string,
    ...args: Parameters<F>
  ): Promise<Awaited<ReturnType<F>>> {
    const acts = proxyActivities<Acts>(options);
    const fn = acts[name] as unknown as {
      executeWithOptions: (o: ActivityOptions, a: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
    };
    return fn.executeWithOptions({ ...options, summary }, args);
  }

  private forward<F extends ActivityFn>(
    stage: keyof typeof this.spec.timeouts,
    name: keyof Acts,
    summary: string,
    ...args: Parameters<F>
  ) {
    return this.call<F>(
      name,
      { ...profiles.store, scheduleToCloseTimeout: this.stageTimeout(stage) },
      summary,
      ...args,
    );
  }

  private undo<F extends ActivityFn>(name: keyof Acts, summary: string, ...args: Parameters<F>) {
    return this.call<F>(name, profiles.undo, summary, ...args);
  }

  private stageOf(name: StageName) {
    return this.status.stages.find((x) => x.name === name);
  }

  private async stage<T>(name: StageName, body: () => Promise<T>, detail?: string): Promise<T> {
    await condition(() => !this.status.paused);
    const s = this.stageOf(name);
    if (s) Object.assign(s, { state: 'running', startedAt: s.startedAt ?? Date.now(), detail });
    this.setPhase(name);
    const began = Date.now();
    this.audit('stage-started', { stage: name, ...(detail ? { detail } : {}) });
    try {
      const result = await body();
      if (s) Object.assign(s, { state: 'done', endedAt: Date.now() });
      this.audit('stage-completed', { stage: name, durationMs: Date.now() - began });
      return result;
    } catch (err) {
      if (s) Object.assign(s, { state: 'failed', endedAt: Date.now(), detail: rootMessage(err) });
      this.audit('stage-failed', { stage: name, detail: rootMessage(err), durationMs: Date.now() - began });
      throw err;
    } finally {
      this.publish();
    }
  }

  private skip(name: StageName, detail: string): void {
    const s = this.stageOf(name);
    if (s) Object.assign(s, { state: 'skipped', detail });
    this.audit('stage-skipped', { stage: name, detail });
  }

  private readonly touched = new Set<string>();
  /** Clusters whose workloads may have rolled out onto the new version (promote began there). */
  private readonly rolledOut = new Set<string>();

  private touchedClusters(): ClusterTarget[] {
    return this.spec.clusters.filter((c) => this.touched.has(c.name));
  }

  /**
   * Syncs clusters in a bounded window of child workflows, tracking each one's phase. Every
   * cluster settles before the stage fails, so the table shows exactly which ones failed and why.
   */
  private async syncClusters(
    clusters: ClusterTarget[],
    step: ClusterStep,
    versions: { current: VersionRef; other: VersionRef | null },
    done: ClusterPhase,
  ): Promise<void> {
    const mark = (name: string, phase: ClusterPhase, detail?: string) => {
      const c = this.status.clusters.find((x) => x.name === name);
      if (c) Object.assign(c, { phase, updatedAt: Date.now(), detail });
      this.audit('cluster-phase', { cluster: name, phase, stage: step, ...(detail ? { detail } : {}) });
      this.publish();
    };
    const results = await inWindow(clusters, this.spec.maxParallelClusters, async (c) => {
      if (step !== 'verify') this.touched.add(c.name);
      // Consumers that present the credential switch when keys swap: one rollout per workload at
      // promote, and one back if a promoted cluster is restored.
      if (step === 'promote') this.rolledOut.add(c.name);
      const rolloutToken =
        step === 'promote'
          ? this.rotation.runId
          : step === 'restore' && this.rolledOut.has(c.name)
            ? `${this.rotation.runId}/rolled-back`
            : undefined;
      mark(c.name, step === 'verify' ? 'dual-read' : 'delivering', step);
      try {
        const report = await syncCluster(this.spec, c, step, versions, rolloutToken);
        mark(c.name, done);
        return report;
      } catch (err) {
        mark(c.name, 'failed', `${step}: ${rootMessage(err)}`);
        throw err;
      }
    });
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ cluster: clusters[i]?.name ?? '?', err: r.reason as unknown }] : [],
    );
    const first = failed[0];
    if (first) {
      throw ApplicationFailure.create({
        type: 'ClusterStepFailed',
        message: `${step} failed in ${failed.length} of ${clusters.length} cluster(s): ${failed.map((f) => `${f.cluster}: ${rootMessage(f.err)}`).join('; ')}`,
        nonRetryable: true,
        cause: first.err instanceof Error ? first.err : undefined,
      });
    }
  }

  private async canaryStage(fresh: VersionRef): Promise<void> {
    const store = this.spec.secret.store;
    await this.stage('canary', async () => {
      for (const canary of this.spec.canaries) {
        const result = await this.call<Acts['runCanary']>(
          'runCanary',
          { ...profiles.canary, scheduleToCloseTimeout: this.stageTimeout('canary') },
          `canary ${canary.name} with the new version`,
          { store, version: fresh.version, canary },
        );
        this.status.canaries.push(result);
      }
    });
  }

  async run(): Promise<RotationResult> {
    this.setPhase('plan');
    log.info('rotation started', {
      secret: this.status.secret,
      trigger: this.status.trigger,
      requestedBy: this.status.requestedBy,
    });
    this.audit('rotation-started');
    let versions: { old: VersionRef; fresh: VersionRef };
    try {
      versions = await this.forwardScope.run(() => this.forwardStages());
    } catch (err) {
      return this.rollBack(err);
    }
    await this.revokeStage(versions);
    await this.stage('finalize', () =>
      this.call('finalizeRotation', profiles.irreversible, 'finalize: record outcome in the store', {
        store: this.spec.secret.store,
        rotation: this.rotation,
        outcome: 'rotated',
        currentVersion: versions.fresh.version,
      }),
    );
    this.setPhase('rotated');
    this.audit('rotation-completed', {
      outcome: 'rotated',
      durationMs: Date.now() - this.status.startedAt,
      ...(this.status.revocation ? { detail: `revocation proof: ${this.status.revocation.detail}` } : {}),
    });
    return {
      outcome: 'rotated',
      secret: this.status.secret,
      previous: versions.old,
      current: versions.fresh,
      canaries: this.status.canaries,
      status: this.status,
    };
  }

  private async forwardStages(): Promise<{ old: VersionRef; fresh: VersionRef }> {
    const store = this.spec.secret.store;
    const window = this.spec.schedule?.window;
    if (this.input.trigger === 'schedule' && window) {
      const wait = msUntilWindow(Date.now(), window);
      if (wait > 0) {
        const s = this.stageOf('plan');
        if (s) s.detail = `waiting for the rotation window ${window.start}–${window.end} UTC`;
        this.publish();
        await sleep(wait);
      }
    }
    const plan = await this.stage('plan', () =>
      this.forward<Acts['planRotation']>('plan', 'planRotation', 'plan: read the current version (fingerprint only)', {
        store,
        rotation: this.rotation,
      }),
    );
    const old = plan.current;
    this.original = old;
    this.status.current = old;

    // Undo first: the write can land even when the activity reports failure (lost response,
    // timeout), and the undo finds this run's version by run id, so it is safe if nothing landed.
    this.saga.add('discard pending version', () =>
      this.undo<Acts['discardPendingVersion']>(
        'discardPendingVersion',
        "undo create: discard this run's pending version",
        {
          store,
          credential: this.spec.credential,
          rotation: this.rotation,
          pendingVersion: this.status.pending?.version ?? null,
          currentVersion: old.version,
          previousVersion: plan.previousVersion,
        },
      ),
    );
    const fresh = await this.stage('create', () =>
      this.forward<Acts['createPendingVersion']>(
        'create',
        'createPendingVersion',
        'create: store a new pending version',
        {
          store,
          credential: this.spec.credential,
          rotation: this.rotation,
          currentVersion: old.version,
        },
      ),
    );
    this.status.pending = fresh;

    const waves = wavesOf(this.spec);
    this.status.clusters = waves.flatMap((wave, i) =>
      wave.map((c) => ({ name: c.name, wave: i, phase: 'pending' as const, updatedAt: Date.now() })),
    );
    if (waves.length === 0) {
      this.skip('distribute', 'no clusters in the playbook');
      this.skip('verify', 'no clusters in the playbook');
      await this.canaryStage(fresh);
    } else {
      // One undo for every cluster step before revoke: back to serving only the old version.
      this.saga.add('restore clusters to the old version', () =>
        this.syncClusters(this.touchedClusters(), 'restore', { current: old, other: null }, 'rolled-back'),
      );
      for (const [i, wave] of waves.entries()) {
        await this.stage(
          'distribute',
          () => this.syncClusters(wave, 'dual-read', { current: old, other: fresh }, 'dual-read'),
          `wave ${i + 1}/${waves.length}: ${wave.map((c) => c.name).join(', ')}`,
        );
        // The canary runs against the first wave before any other wave is touched.
        if (i === 0) await this.canaryStage(fresh);
      }
      const s = this.stageOf('distribute');
      if (s) s.detail = `${waves.length} wave(s), ${this.spec.clusters.length} cluster(s)`;
      await this.stage('verify', () =>
        this.syncClusters(this.spec.clusters, 'verify', { current: old, other: fresh }, 'verified'),
      );
    }

    // As with create, the label move may land without a reply; demote is a no-op if it did not.
    this.saga.add('demote new version', () =>
      this.undo<Acts['demoteVersion']>('demoteVersion', `undo promote: make version ${old.version} current again`, {
        store,
        rotation: this.rotation,
        pendingVersion: fresh.version,
        currentVersion: old.version,
        previousVersion: plan.previousVersion,
      }),
    );
    await this.stage('promote', () =>
      this.forward<Acts['promoteVersion']>(
        'promote',
        'promoteVersion',
        `promote: make version ${fresh.version} current`,
        {
          store,
          rotation: this.rotation,
          pendingVersion: fresh.version,
          currentVersion: old.version,
        },
      ),
    );
    if (this.spec.clusters.length > 0) {
      await this.stage(
        'promote',
        () => this.syncClusters(this.spec.clusters, 'promote', { current: fresh, other: old }, 'promoted'),
        'swapping keys in every cluster',
      );
    }
    this.status.current = fresh;
    this.status.pending = undefined;

    if (this.input.emergency || this.spec.soak === 0) {
      this.skip('soak', this.input.emergency ? 'emergency rotation' : 'no soak configured');
    } else {
      await this.stage('soak', async () => {
        const ended = await condition(() => this.skipSoak, this.spec.soak);
        const s = this.stageOf('soak');
        if (s && ended) s.detail = 'ended early by skip-soak';
      });
    }

    if (!this.spec.approval.beforeRevoke) {
      this.skip('approval', 'no approval gate');
    } else if (this.input.emergency?.compromised) {
      this.skip('approval', 'compromised credential: revoked without waiting for approval');
    } else {
      await this.stage('approval', async () => {
        this.status.awaitingApproval = true;
        this.publish();
        await condition(() => this.approvedBy !== undefined);
        this.status.awaitingApproval = false;
        const s = this.stageOf('approval');
        if (s) s.detail = `approved by ${this.approvedBy}`;
      });
    }
    return { old, fresh };
  }

  /** Past this point the old credential is gone: failures retry and alert, never roll back. */
  private async revokeStage(versions: { old: VersionRef; fresh: VersionRef }): Promise<void> {
    this.status.pointOfNoReturn = true;
    this.saga.clear();
    await this.stage('revoke', async () => {
      if (this.spec.clusters.length > 0)
        await this.syncClusters(this.spec.clusters, 'revoke', { current: versions.fresh, other: null }, 'revoked');
      for (;;) {
        try {
          const evidence = await this.call<Acts['revokeVersion']>(
            'revokeVersion',
            profiles.irreversible,
            `revoke: retire version ${versions.old.version} and prove it is refused`,
            {
              store: this.spec.secret.store,
              credential: this.spec.credential,
              rotation: this.rotation,
              revokedVersion: versions.old.version,
              currentVersion: versions.fresh.version,
            },
          );
          // Runs recorded before revocation proof returned nothing here; they replay as before.
          if (evidence) this.status.revocation = evidence;
          // A revoke that did not take is an alert, not a success: the old credential still opens the door.
          if (evidence && !evidence.rejected)
            throw ApplicationFailure.create({
              type: 'RevocationNotEffective',
              message: `the old credential is still accepted: ${evidence.detail}`,
              nonRetryable: true,
            });
          const s = this.stageOf('revoke');
          if (s && evidence) s.detail = evidence.detail;
          this.status.attention = undefined;
          return;
        } catch (err) {
          this.status.attention = `revoke keeps failing: ${rootMessage(err)}; fix the cause and send retry, or wait for the automatic retry`;
          log.error('revoke needs attention', { secret: this.status.secret, error: rootMessage(err) });
          this.setPhase('needs-attention');
          this.audit('needs-attention', { stage: 'revoke', detail: this.status.attention });
          this.retryRequested = false;
          await condition(() => this.retryRequested, '15m');
          this.setPhase('revoke');
        }
      }
    });
  }

  /** Runs every registered undo last-first, records the outcome, and fails the run naming the cause. */
  private async rollBack(err: unknown): Promise<never> {
    const aborted = this.abortedBy !== undefined || isCancellation(err);
    const failedStage = this.status.stages.find((s) => s.state === 'failed' || s.state === 'running');
    const cause = aborted
      ? `aborted by ${this.abortedBy ?? 'workflow cancellation'}${failedStage ? ` during ${failedStage.name}` : ''}`
      : `${failedStage?.name ?? 'a stage'} failed: ${rootMessage(err)}`;
    if (failedStage?.state === 'running')
      Object.assign(failedStage, { state: 'failed', endedAt: Date.now(), detail: cause });
    this.status.failure = cause;
    this.setPhase('compensating');
    log.warn('rotation compensating', { secret: this.status.secret, cause });
    this.audit('compensation-started', { detail: cause, ...(this.abortedBy ? { by: this.abortedBy } : {}) });

    const reports = await this.saga.compensate((r) => {
      this.status.compensation.push(r);
      this.audit(r.ok ? 'undo-completed' : 'undo-failed', { stage: r.step, ...(r.error ? { detail: r.error } : {}) });
      this.publish();
    });
    const failedUndos = reports.filter((r) => !r.ok);
    // Bookkeeping, not an undo: only when plan reached the store, and its failure is reported
    // without turning a clean rollback into "manual repair needed".
    let recordFailure: string | undefined;
    const original = this.original;
    if (original) {
      await CancellationScope.nonCancellable(async () => {
        await this.call('finalizeRotation', profiles.undo, 'finalize: record the rollback in the store', {
          store: this.spec.secret.store,
          rotation: this.rotation,
          outcome: 'rolled-back',
          currentVersion: original.version,
        }).catch((e: unknown) => {
          recordFailure = rootMessage(e);
          this.status.compensation.push({ step: 'record rollback', ok: false, error: recordFailure });
        });
      });
    }

    if (failedUndos.length > 0) {
      this.setPhase('compensation-failed');
      this.audit('compensation-failed', { outcome: 'compensation-failed', detail: cause });
      const undoText = failedUndos.map((u) => `undo '${u.step}' failed: ${u.error ?? 'unknown'}`).join('; ');
      throw ApplicationFailure.create({
        type: WorkflowErrorTypes.compensationFailed,
        message: `rotation of ${this.status.secret} could not be fully rolled back — ${undoText}; original cause: ${cause}. Manual repair needed.`,
        nonRetryable: true,
        cause: err instanceof Error ? err : undefined,
        details: [{ cause, undos: reports }],
      });
    }
    this.status.current = this.original;
    this.status.pending = undefined;
    this.setPhase('rolled-back');
    this.audit('rotation-rolled-back', {
      outcome: aborted ? 'aborted' : 'rolled-back',
      detail: cause,
      durationMs: Date.now() - this.status.startedAt,
    });
    throw ApplicationFailure.create({
      type: aborted ? WorkflowErrorTypes.aborted : WorkflowErrorTypes.rolledBack,
      message: `rotation of ${this.status.secret} rolled back: ${cause}; ${original ? 'the old version is current again' : 'nothing was changed'}${recordFailure ? ` (recording the rollback in the store failed: ${recordFailure})` : ''}`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
      details: [{ cause, undos: reports }],
    });
  }
}
