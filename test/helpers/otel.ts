import { existsSync, readFileSync } from 'node:fs';
import { otelFiles } from '../../dev/local-stack/services/otelcol';
import { stackPaths } from '../../dev/local-stack/config';
import { rotationTraceId } from '../../workers/otel-audit';

type AnyValue = { stringValue?: string; intValue?: string | number };
type KeyValue = { key: string; value: AnyValue };

/** A span as the collector's file exporter writes it (OTLP JSON: ids in hex). */
export interface FileSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  status?: { code?: number | string };
}

/** A log record as the collector's file exporter writes it. */
export interface FileLogRecord {
  timeUnixNano: string;
  traceId?: string;
  spanId?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
}

/** The value of attribute `key`, as text. */
export function attr(item: { attributes?: KeyValue[] }, key: string): string | undefined {
  const v = item.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : String(v.intValue));
}

/** The file's complete lines: the last one is left out until its newline is written (a collector mid-write). */
function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  const all = readFileSync(file, 'utf8').split('\n');
  all.pop();
  return all.filter(Boolean);
}

interface TracesLine {
  resourceSpans?: { scopeSpans?: { spans?: FileSpan[] }[] }[];
}
interface LogsLine {
  resourceLogs?: { scopeLogs?: { logRecords?: FileLogRecord[] }[] }[];
}

/** What the stack's collector holds for one rotation run: its spans, its audit log records, and the raw lines. */
export function otelOfRun(runId: string): { spans: FileSpan[]; logs: FileLogRecord[]; text: string } {
  const files = otelFiles(stackPaths());
  const traceId = rotationTraceId(runId);
  const traceLines = lines(files.traces).filter((l) => l.includes(traceId));
  const logLines = lines(files.logs).filter((l) => l.includes(runId));
  const spans = traceLines
    .flatMap((l) => (JSON.parse(l) as TracesLine).resourceSpans ?? [])
    .flatMap((r) => r.scopeSpans ?? [])
    .flatMap((s) => s.spans ?? [])
    .filter((s) => s.traceId === traceId);
  const logs = logLines
    .flatMap((l) => (JSON.parse(l) as LogsLine).resourceLogs ?? [])
    .flatMap((r) => r.scopeLogs ?? [])
    .flatMap((s) => s.logRecords ?? [])
    .filter((r) => attr(r, 'rotor.run_id') === runId);
  return { spans, logs, text: [...traceLines, ...logLines].join('\n') };
}

/**
 * Waits until the collector has written the run's root span and its final audit record (the worker
 * batches for up to 5 s, the collector flushes every second); returns what it holds for the run.
 */
export async function waitForOtelOfRun(runId: string, timeoutMs = 60_000): Promise<ReturnType<typeof otelOfRun>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = otelOfRun(runId);
    const root = got.spans.some((s) => !s.parentSpanId);
    const final = got.logs.some((r) => /^rotation-(completed|rolled-back)$/.test(r.body?.stringValue ?? ''));
    if (root && final) return got;
    if (Date.now() > deadline)
      throw new Error(
        `collector files (${Object.values(otelFiles(stackPaths())).join(', ')}) hold no complete export of run ${runId} ` +
          `after ${timeoutMs} ms: ${got.spans.length} spans, ${got.logs.length} log records (is 'dev/stack up otelcol' running?)`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
