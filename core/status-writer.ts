/**
 * The one writer of a rotation's status: every stage, cluster and phase transition goes through
 * here (as ESO writes conditions only through one helper), so what the status query, the CLI and
 * the Temporal UI show is decided in one place. Pure: the caller passes the clock.
 */
import type { ClusterConsumers } from './consumers';
import type { CanaryResult, ClusterReaders, VersionRef } from './contracts';
import type {
  ClusterPhase,
  ClusterState,
  Phase,
  RevocationEvidence,
  RotationStatus,
  StageName,
  StageState,
  UndoOutcome,
} from './status';
import { refusedSignalsKept } from './status';

export class StatusWriter {
  /** Clusters by name, for the array it was built from (a fleet has thousands: no linear search per cluster). */
  private index: { of: RotationStatus['clusters']; byName: Map<string, ClusterState> } | undefined;

  constructor(private readonly s: RotationStatus) {}

  private cluster(name: string): ClusterState | undefined {
    if (this.index?.of !== this.s.clusters)
      // Reversed: the first cluster of a name wins, as a search from the start found it.
      this.index = { of: this.s.clusters, byName: new Map([...this.s.clusters].reverse().map((c) => [c.name, c])) };
    return this.index.byName.get(name);
  }

  /** The status as it stands; read-only for everyone but this writer. */
  get status(): Readonly<RotationStatus> {
    return this.s;
  }

  stage(name: StageName): Readonly<StageState> | undefined {
    return this.s.stages.find((x) => x.name === name);
  }

  phase(phase: Phase): void {
    this.s.phase = phase;
  }

  /** Marks a stage running; a stage entered again (a later wave) keeps its first start time. */
  stageStarted(name: StageName, now: number, detail?: string): void {
    const s = this.s.stages.find((x) => x.name === name);
    if (s) Object.assign(s, { state: 'running', startedAt: s.startedAt ?? now, detail });
  }

  stageDone(name: StageName, now: number): void {
    const s = this.s.stages.find((x) => x.name === name);
    if (s) Object.assign(s, { state: 'done', endedAt: now });
  }

  stageFailed(name: StageName, now: number, detail: string): void {
    const s = this.s.stages.find((x) => x.name === name);
    if (s) Object.assign(s, { state: 'failed', endedAt: now, detail });
  }

  stageSkipped(name: StageName, detail: string): void {
    const s = this.s.stages.find((x) => x.name === name);
    if (s) Object.assign(s, { state: 'skipped', detail });
  }

  stageNote(name: StageName, detail: string): void {
    const s = this.s.stages.find((x) => x.name === name);
    if (s) s.detail = detail;
  }

  /** The stage that failed or was interrupted, if any. */
  interruptedStage(): Readonly<StageState> | undefined {
    return this.s.stages.find((x) => x.state === 'failed' || x.state === 'running');
  }

  /** Every cluster of every wave, pending. */
  clustersPlanned(waves: readonly (readonly { name: string }[])[], now: number): void {
    this.s.clusters = waves.flatMap((wave, i) =>
      wave.map((c) => ({ name: c.name, wave: i, phase: 'pending' as const, updatedAt: now })),
    );
  }

  clusterPhase(name: string, phase: ClusterPhase, now: number, detail?: string): void {
    const c = this.cluster(name);
    if (c) Object.assign(c, { phase, updatedAt: now, detail, ...(phase === 'failed' ? { failure: detail } : {}) });
  }

  /** A cluster's consumer-gate verdict (kept beside its phase, which the cluster steps own). */
  clusterGate(name: string, text: string): void {
    const c = this.cluster(name);
    if (c) c.gate = text;
  }

  versions(v: { current?: VersionRef | undefined; pending?: VersionRef | undefined }): void {
    if ('current' in v) this.s.current = v.current;
    if ('pending' in v) this.s.pending = v.pending;
  }

  canary(result: CanaryResult): void {
    this.s.canaries.push(result);
  }

  awaitingApproval(waiting: boolean): void {
    this.s.awaitingApproval = waiting;
  }

  paused(paused: boolean): void {
    this.s.paused = paused;
  }

  pointOfNoReturn(): void {
    this.s.pointOfNoReturn = true;
  }

  attention(text: string | undefined): void {
    this.s.attention = text;
  }

  undo(report: UndoOutcome): void {
    this.s.compensation.push(report);
  }

  failure(cause: string): void {
    this.s.failure = cause;
  }

  /** Who could read the Secret at plan, per cluster. */
  readers(readers: ClusterReaders[]): void {
    this.s.readers = readers;
  }

  /** Which pods read the Secret at plan, per cluster. */
  consumers(consumers: ClusterConsumers[]): void {
    this.s.consumers = consumers;
  }

  revocation(evidence: RevocationEvidence): void {
    this.s.revocation = evidence;
  }

  /** A signal refused for want of an encrypted argument: counted, and the newest few kept. */
  refusedSignal(signal: string, now: number): void {
    const r = (this.s.refusedSignals ??= { count: 0, last: [] });
    r.count += 1;
    r.last = [...r.last, { signal, at: now }].slice(-refusedSignalsKept);
  }
}
