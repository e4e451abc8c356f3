/**
 * The Temporal UI list views an operator wants, as visibility queries over rotor's search
 * attributes. Every view is limited to the rotation workflow type, so store locks
 * (`storeLockWorkflow`), cluster batches and schedule launchers never crowd the list.
 */

/** The workflow type every view lists: one row per rotation run. */
export const rotationWorkflowType = 'rotationWorkflow';

export interface UiView {
  name: string;
  description: string;
  query: string;
}

// Visibility queries quote with double quotes; a secret name is validated, but quote it safely anyway.
const quoted = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

/**
 * The operator's views at `now`: all rotations, running ones, needs-attention, rolled back or
 * failing to compensate in the last day, and, given a secret, that secret's history.
 */
export function rotationViews(now: Date, secret?: string): UiView[] {
  const rotations = `WorkflowType=${quoted(rotationWorkflowType)}`;
  const dayAgo = new Date(now.getTime() - 86_400_000).toISOString();
  const views: UiView[] = [
    { name: 'rotations', description: 'every rotation run, newest first', query: rotations },
    { name: 'running', description: 'rotations running now', query: `${rotations} AND ExecutionStatus="Running"` },
    {
      name: 'needs-attention',
      description: 'past the point of no return and stuck: retry or escalate',
      query: `${rotations} AND RotationPhase="needs-attention"`,
    },
    {
      name: 'rolled-back',
      description: 'rolled back (or failing to) in the last day',
      query: `${rotations} AND RotationPhase IN ("rolled-back", "compensation-failed") AND CloseTime > ${quoted(dayAgo)}`,
    },
  ];
  if (secret !== undefined)
    views.push({
      name: 'history',
      description: `every rotation of ${secret}`,
      query: `${rotations} AND RotationSecret=${quoted(secret)}`,
    });
  return views;
}
