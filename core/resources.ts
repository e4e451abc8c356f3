/**
 * rotor's custom resources in the management cluster (issue 24): `RotationPlaybook`,
 * `RotationRequest` and `RotationApproval` in API group `rotor.dev`, version `v1`. The zod schemas
 * of their specs are the source of the CRDs' OpenAPI schemas (dev/crds.ts) and what rotor's
 * controller parses objects with. Who asked and who approved are written by the apiserver's
 * admission (a ValidatingAdmissionPolicy makes them the authenticated user), never trusted from here.
 */
import { z } from 'zod';

export const resourceGroup = 'rotor.dev';
export const resourceVersion = 'v1';

/** A Kubernetes object name (DNS subdomain, as metadata.name). */
const objectName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes object name (a-z, 0-9, -, .)')
  .describe('The name of an object in the same namespace.');

/** The apiserver's authenticated user name, as the admission policy wrote it. */
const userName = z.string().min(1).max(512);

/** The apiserver's groups of that user, as the admission policy checked them. */
const userGroups = (field: string) =>
  z
    .array(z.string().min(1).max(512))
    .max(256)
    .optional()
    .describe(
      `The ${field}'s groups, exactly as the apiserver authenticated them (the admission policy refuses any other list); rotor's SubjectAccessReview then counts RBAC granted to these groups. Without it only grants to the user name count. \`rotor\` fills it from a SelfSubjectReview.`,
    );

/** `RotationRequest.spec`: rotate a playbook's secret now. */
export const rotationRequestSpecSchema = z
  .strictObject({
    playbookRef: objectName.describe('The `RotationPlaybook` in this namespace whose secret rotates.'),
    mode: z
      .enum(['manual', 'emergency'])
      .default('manual')
      .describe('`manual` (the `rotate` verb) or `emergency` (the `emergency` verb: tighter timeouts, no soak).'),
    reason: z.string().max(1024).optional().describe('Why, for the audit trail.'),
    compromised: z.boolean().default(false).describe('Emergency only: the credential is known to be compromised.'),
    requestedBy: userName.describe(
      "The requester: the apiserver's authenticated user name, which the admission policy makes this equal and immutable.",
    ),
    requestedGroups: userGroups('requester'),
  })
  .refine((s) => !s.compromised || s.mode === 'emergency', {
    path: ['compromised'],
    message: 'only an emergency request may say compromised',
  })
  .describe('Rotate the secret of a RotationPlaybook now.');

/** `RotationIncident.spec`: emergency rotations of several playbooks of one namespace at once. */
export const rotationIncidentSpecSchema = z
  .strictObject({
    playbookRefs: z
      .array(objectName)
      .min(1)
      .max(5000)
      .refine((refs) => new Set(refs).size === refs.length, 'must not name a playbook twice')
      .describe(
        'The `RotationPlaybook`s in this namespace whose secrets rotate, each as an emergency; the requester needs the `emergency` verb on every one.',
      ),
    reason: z.string().min(1).max(1024).describe('Why, for the audit trail and every rotation’s reason.'),
    compromised: z
      .boolean()
      .default(false)
      .describe('The credentials are known to be compromised: no approval gate, consumer problems only warn.'),
    concurrency: z.number().int().min(1).max(200).default(4).describe('Rotations running at once, overall.'),
    perBackend: z.number().int().min(1).max(200).default(2).describe('Rotations running at once against one backend.'),
    requestedBy: userName.describe(
      "The requester: the apiserver's authenticated user name, which the admission policy makes this equal and immutable.",
    ),
    requestedGroups: userGroups('requester'),
  })
  .describe('Emergency rotations of several RotationPlaybooks of this namespace, as one incident.');

export const approvalActions = ['approve', 'abort', 'skip-soak', 'retry', 'pause', 'resume'] as const;
export type ApprovalAction = (typeof approvalActions)[number];

/** The actions a RotationApproval may take on a RotationIncident's incident. */
export const incidentActions: readonly ApprovalAction[] = ['pause', 'resume', 'abort'];

/** `RotationApproval.spec`: an operator's decision on a running rotation, or on an incident. */
export const rotationApprovalSpecSchema = z
  .strictObject({
    requestRef: objectName
      .optional()
      .describe('The `RotationRequest` in this namespace whose rotation this acts on (or `incidentRef`).'),
    incidentRef: objectName
      .optional()
      .describe(
        'The `RotationIncident` in this namespace whose incident this pauses, resumes or aborts (or `requestRef`); needs the `emergency` verb on every playbook the incident names.',
      ),
    action: z
      .enum(approvalActions)
      .describe(
        '`approve` the manual gate, `abort` (compensates), `skip-soak`, `retry` a failing step now, or `pause` (before its next stage) and `resume` the rotation; an incident takes `pause`, `resume` and `abort`.',
      ),
    reason: z.string().max(1024).optional().describe('Why, for the audit trail.'),
    approvedBy: userName.describe(
      "Who decided: the apiserver's authenticated user name, which the admission policy makes this equal and immutable.",
    ),
    approvedGroups: userGroups('approver'),
  })
  .refine((s) => (s.requestRef === undefined) !== (s.incidentRef === undefined), {
    path: ['requestRef'],
    message: 'name exactly one of requestRef (a RotationRequest) and incidentRef (a RotationIncident)',
  })
  .refine((s) => s.incidentRef === undefined || incidentActions.includes(s.action), {
    path: ['action'],
    message: `an incident takes only ${incidentActions.join(', ')}`,
  })
  .describe("An operator's decision on the rotation of a RotationRequest, or on a RotationIncident's incident.");

export type RotationRequestSpec = z.output<typeof rotationRequestSpecSchema>;
export type RotationApprovalSpec = z.output<typeof rotationApprovalSpecSchema>;
export type RotationIncidentSpec = z.output<typeof rotationIncidentSpecSchema>;

/**
 * The RBAC verb on `rotationplaybooks` (resource name: the playbook) each decision needs. Abort,
 * pause and resume need only what starting does; the gate and soak need `approve`.
 */
export function verbFor(
  what: { request: Pick<RotationRequestSpec, 'mode'> } | { action: ApprovalAction },
): 'rotate' | 'emergency' | 'approve' {
  if ('request' in what) return what.request.mode === 'emergency' ? 'emergency' : 'rotate';
  return ['abort', 'pause', 'resume'].includes(what.action) ? 'rotate' : 'approve';
}

/**
 * Condition types rotor writes: on a RotationRequest's or RotationApproval's status, and `Ready` on
 * a RotationPlaybook's (admitted by the policy and its schedule in line with it).
 */
export type ConditionType =
  | 'Accepted'
  | 'Denied'
  | 'Rotating'
  | 'Succeeded'
  | 'RolledBack'
  | 'NeedsAttention'
  | 'Ready'
  /** An emergency request's: False while the run it supersedes winds down, True once it ended. */
  | 'Superseded';

/** How the last rotation of a RotationPlaybook went, as its status shows it. */
export interface LastRotation {
  /** When it started (RFC 3339). */
  time: string;
  outcome: 'Running' | 'NeedsAttention' | 'Rotated' | 'Skipped' | 'RolledBack' | 'Failed';
  trigger: 'schedule' | 'manual' | 'emergency';
  workflowId: string;
  runId?: string;
  uiLink: string;
  /** The RotationRequest that asked for it; none for a scheduled run. */
  request?: string;
}

/** Outcomes after which a rotation's story does not change. */
export const endedOutcomes: readonly LastRotation['outcome'][] = ['Rotated', 'Skipped', 'RolledBack', 'Failed'];

/** One status condition, as Kubernetes writes them (metav1.Condition). */
export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Conditions that end an object's story: rotor does nothing more for it. */
const finalTypes: readonly ConditionType[] = ['Denied', 'Succeeded', 'RolledBack'];

/** Whether `conditions` hold a true final condition. */
export function isFinal(conditions: readonly Condition[] | undefined): boolean {
  return (conditions ?? []).some((c) => c.status === 'True' && finalTypes.includes(c.type));
}

/**
 * `conditions` with `next` set: a condition of the same type is replaced (its transition time
 * kept when its status did not change), the others stay.
 */
export function withCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const old = (conditions ?? []).find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : now.toISOString();
  return [...(conditions ?? []).filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}
