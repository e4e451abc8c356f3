import type { AuditEvent } from '../workflows/audit';

/** One line of the audit trail: the workflow's event plus where and when it happened. */
export interface AuditRecord extends AuditEvent {
  time: string;
  workflowId: string;
  runId: string;
}
