import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { InjectedSinks } from '@temporalio/worker';
import type { RotorSinks } from '../workflows/audit';
import type { RotorMetrics } from './metrics';
import type { OtelAudit } from './otel-audit';
import type { AuditRecord } from './audit-record';

/**
 * The worker side of the audit sink: JSON lines to ROTOR_AUDIT_FILE (or stdout when unset),
 * ready to ship to a SIEM, the same events into Prometheus metrics and, with `otel`, over OTLP as
 * log records and spans. Not called on replay.
 */
export function auditSinks(opts: {
  file?: string;
  metrics?: RotorMetrics;
  otel?: OtelAudit;
  write?: (line: string) => void;
}): InjectedSinks<RotorSinks> {
  if (opts.file) mkdirSync(dirname(opts.file), { recursive: true });
  const write =
    opts.write ?? ((line: string) => (opts.file ? appendFileSync(opts.file, line) : process.stdout.write(line)));
  return {
    audit: {
      record: {
        fn(info, event) {
          const now = Date.now();
          const record: AuditRecord = {
            time: new Date(now).toISOString(),
            workflowId: info.workflowId,
            runId: info.runId,
            ...event,
          };
          write(`${JSON.stringify(record)}\n`);
          opts.metrics?.observe(event, now);
          opts.otel?.record(record, now);
        },
        callDuringReplay: false,
      },
    },
  };
}
