import { createHash, randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { AuditRecord } from './audit-record';

/** Hex id of `bytes` bytes derived from the parts: the same run always yields the same ids. */
function derivedId(bytes: number, ...parts: string[]): string {
  return createHash('sha256')
    .update(parts.join('\0'))
    .digest('hex')
    .slice(0, bytes * 2);
}

/** The trace id of a rotation run: derived from its run id, so a restarted worker joins the same trace. */
export function rotationTraceId(runId: string): string {
  return derivedId(16, 'rotor-trace', runId);
}

/**
 * Span ids are chosen by rotor (derived from the run, so stage and cluster spans can name their parent
 * before it ends); the SDK asks this generator, which hands out the ids queued for the next span.
 */
class ChosenIds implements IdGenerator {
  next: { traceId?: string; spanId?: string } = {};
  generateTraceId(): string {
    const id = this.next.traceId ?? randomBytes(16).toString('hex');
    delete this.next.traceId;
    return id;
  }
  generateSpanId(): string {
    const id = this.next.spanId ?? randomBytes(8).toString('hex');
    delete this.next.spanId;
    return id;
  }
}

/** Flat string/number attributes: valid both on spans and on log records. */
type Attributes = Record<string, string | number>;

/** Audit fields as OTLP attributes: names, version ids and fingerprints, as the JSON-lines trail has them. */
function attributesOf(r: AuditRecord): Attributes {
  const a: Attributes = {
    'rotor.event': r.event,
    'rotor.secret': r.secret,
    'rotor.playbook': r.playbook,
    'rotor.trigger': r.trigger,
    'rotor.requested_by': r.requestedBy,
    'rotor.workflow_id': r.workflowId,
    'rotor.run_id': r.runId,
  };
  const optional: [string, string | number | undefined][] = [
    ['rotor.reason', r.reason],
    ['rotor.stage', r.stage],
    ['rotor.cluster', r.cluster],
    ['rotor.phase', r.phase],
    ['rotor.outcome', r.outcome],
    ['rotor.detail', r.detail],
    ['rotor.duration_ms', r.durationMs],
    ['rotor.by', r.by],
    ['rotor.current.version', r.current?.version],
    ['rotor.current.fingerprint', r.current?.fingerprint],
    ['rotor.pending.version', r.pending?.version],
    ['rotor.pending.fingerprint', r.pending?.fingerprint],
  ];
  for (const [k, v] of optional) if (v !== undefined) a[k] = v;
  if (r.readers) a['rotor.readers'] = JSON.stringify(r.readers);
  return a;
}

const failing = new Set(['stage-failed', 'undo-failed', 'compensation-failed', 'needs-attention']);
const clusterInProgress = new Set(['delivering', 'dual-read']);

/**
 * Sends the audit trail over OTLP/HTTP (endpoint from the standard OTEL_EXPORTER_OTLP_* variables): a
 * log record per audit event, and a trace per rotation — a root span over the run, a span per stage
 * and one per cluster step. Spans are emitted when they end (stage and root spans from the event's
 * duration, so they survive a worker restart; a cluster step whose start another worker saw is lost).
 */
export class OtelAudit {
  private readonly ids = new ChosenIds();
  private readonly tracerProvider: BasicTracerProvider;
  private readonly loggerProvider: LoggerProvider;
  /** Run id → when rotation-started was seen, for root spans of events without a duration. */
  private readonly runStarts = new Map<string, number>();
  /** Run id → the stage now running, parent of its cluster spans. */
  private readonly openStages = new Map<string, string>();
  /** `runId/step/cluster` → when the cluster step started. */
  private readonly clusterStarts = new Map<string, number>();

  constructor(serviceName = 'rotor-worker') {
    const resource = resourceFromAttributes({ 'service.name': serviceName });
    this.tracerProvider = new BasicTracerProvider({
      resource,
      idGenerator: this.ids,
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    });
    this.loggerProvider = new LoggerProvider({
      resource,
      processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })],
    });
  }

  /** Records one audit event (never called on replay). */
  record(r: AuditRecord, now: number): void {
    const traceId = rotationTraceId(r.runId);
    const rootId = derivedId(8, 'rotor-root', r.runId);
    const stageId = (stage: string) => derivedId(8, 'rotor-stage', r.runId, stage);
    const failed = failing.has(r.event);
    const attrs = attributesOf(r);
    switch (r.event) {
      case 'rotation-started':
        this.runStarts.set(r.runId, now);
        break;
      case 'stage-started':
        if (r.stage) this.openStages.set(r.runId, r.stage);
        break;
      case 'stage-completed':
      case 'stage-failed':
      case 'stage-skipped':
        if (!r.stage) break;
        this.span(traceId, stageId(r.stage), rootId, `stage ${r.stage}`, now - (r.durationMs ?? 0), now, attrs, failed);
        if (this.openStages.get(r.runId) === r.stage) this.openStages.delete(r.runId);
        break;
      case 'cluster-phase':
        this.clusterPhase(r, now, traceId, rootId, attrs);
        break;
      case 'rotation-completed':
      case 'rotation-rolled-back':
      case 'compensation-failed': {
        const start = r.durationMs !== undefined ? now - r.durationMs : (this.runStarts.get(r.runId) ?? now);
        this.span(
          traceId,
          rootId,
          undefined,
          `rotation ${r.secret}`,
          start,
          now,
          attrs,
          r.event !== 'rotation-completed',
        );
        this.runStarts.delete(r.runId);
        this.openStages.delete(r.runId);
        break;
      }
      default:
        break;
    }
    // The log record carries the run's trace and the span it happened in.
    const stage = r.stage ?? this.openStages.get(r.runId);
    const spanId = stage && r.event !== 'rotation-started' ? stageId(stage) : rootId;
    this.loggerProvider.getLogger('rotor.audit').emit({
      timestamp: now,
      severityNumber: failed ? SeverityNumber.WARN : SeverityNumber.INFO,
      severityText: failed ? 'WARN' : 'INFO',
      body: r.event,
      attributes: attrs,
      context: this.parent(traceId, spanId),
    });
  }

  private clusterPhase(r: AuditRecord, now: number, traceId: string, rootId: string, attrs: Attributes): void {
    if (!r.cluster || !r.stage) return;
    const key = `${r.runId}/${r.stage}/${r.cluster}`;
    const start = this.clusterStarts.get(key);
    if (start !== undefined) {
      this.clusterStarts.delete(key);
      const stage = this.openStages.get(r.runId);
      const parent = stage ? derivedId(8, 'rotor-stage', r.runId, stage) : rootId;
      const name = `cluster ${r.cluster} ${r.stage}`;
      this.span(traceId, derivedId(8, 'rotor-cluster', key), parent, name, start, now, attrs, r.phase === 'failed');
    }
    if (r.phase && clusterInProgress.has(r.phase)) this.clusterStarts.set(key, now);
  }

  private parent(traceId: string, spanId: string): Context {
    return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  }

  private span(
    traceId: string,
    spanId: string,
    parentId: string | undefined,
    name: string,
    start: number,
    end: number,
    attributes: Attributes,
    failed: boolean,
  ): void {
    // Synchronous from here to startSpan: the ids queued are the ones this span takes.
    this.ids.next = parentId ? { spanId } : { traceId, spanId };
    const span = this.tracerProvider
      .getTracer('rotor.audit')
      .startSpan(
        name,
        { kind: SpanKind.INTERNAL, startTime: start, attributes },
        parentId ? this.parent(traceId, parentId) : ROOT_CONTEXT,
      );
    this.ids.next = {};
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(end);
  }

  /** Sends what is buffered and stops the exporters (worker shutdown). */
  async shutdown(): Promise<void> {
    await Promise.all([this.tracerProvider.shutdown(), this.loggerProvider.shutdown()]);
  }
}

/** An OtelAudit when OTEL_EXPORTER_OTLP_ENDPOINT (or a signal-specific endpoint) is set; otherwise none. */
export function otelAuditFromEnv(env: NodeJS.ProcessEnv = process.env): OtelAudit | undefined {
  const set = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT'];
  return set.some((k) => env[k]) ? new OtelAudit(env['OTEL_SERVICE_NAME'] ?? 'rotor-worker') : undefined;
}
