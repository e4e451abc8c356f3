/**
 * Names rotor stamps on the world or looks things up by, each defined once: workflow and schedule
 * ids, Kubernetes labels, annotations and field manager, and the External Secrets API coordinates.
 */

/**
 * Workflow id of a secret's rotation: one at a time per secret. A rotation rotor's controller
 * starts (a RotationRequest or a RotationPlaybook's schedule) is scoped to the management cluster
 * `namespace` it was asked in, `rotate/<namespace>/<secret>`, so one tenant's secret name never
 * holds up another's; a secret name never contains `/`, so the two forms never meet.
 */
export function rotationWorkflowId(secret: string, namespace?: string): string {
  return namespace === undefined ? `rotate/${secret}` : `rotate/${namespace}/${secret}`;
}

/** Memo key naming the RotationRequest (its uid) rotor's controller started a run for. */
export const requestMemoKey = 'rotorRequest';

/** Schedules rotor owns are named `rotor/<secret>`; others in the namespace are never touched. */
export const SCHEDULE_PREFIX = 'rotor/';

export function scheduleIdOf(secret: string): string {
  return `${SCHEDULE_PREFIX}${secret}`;
}

/** Workflow id of the launcher a schedule starts; the launcher then starts `rotate/<secret>`. */
export function scheduledLauncherId(secret: string): string {
  return `rotor-schedule/${secret}`;
}

/**
 * Schedules rotor's controller keeps for `RotationPlaybook`s are named
 * `rotor-playbook/<namespace>/<playbook>`: the object's own identity, so no two namespaces' playbooks
 * share one, whatever secret they name, and `rotor schedule sync` (prefix `rotor/`) never sees them.
 */
export const PLAYBOOK_SCHEDULE_PREFIX = 'rotor-playbook/';

export function playbookScheduleId(namespace: string, name: string): string {
  return `${PLAYBOOK_SCHEDULE_PREFIX}${namespace}/${name}`;
}

/** The namespace and playbook a controller schedule id names, or undefined for any other id. */
export function playbookOfScheduleId(id: string): { namespace: string; name: string } | undefined {
  const m = /^rotor-playbook\/([^/]+)\/([^/]+)$/.exec(id);
  return m?.[1] && m[2] ? { namespace: m[1], name: m[2] } : undefined;
}

/** Workflow id (Temporal suffixes a time) of the launcher a `RotationPlaybook`'s schedule starts. */
export function playbookLauncherId(namespace: string, name: string): string {
  return `rotor-schedule-playbook/${namespace}/${name}`;
}

/** Field manager of everything rotor applies; server-side apply then tracks exactly which keys rotor owns. */
export const fieldManager = 'rotor';

export const managedByLabelKey = 'app.kubernetes.io/managed-by';
/** Label on every Kubernetes object rotor creates. */
export const managedByLabel = { [managedByLabelKey]: 'rotor' } as const;

/** Pod-template annotation whose change rolls a workload out; its value is the rotation's token. */
export const rolloutAnnotation = 'rotor.dev/rotation';

/**
 * Pod annotation a consumer sets in its pod template to opt in to reporting what it read: the
 * value names the container whose log carries `rotor.dev/reads` lines (see README, the gate).
 */
export const reportsReadsAnnotation = 'rotor.dev/reports-reads';

/** Prefix of the log line a reporting consumer prints after each read of the mounted Secret. */
export const readsLinePrefix = 'rotor.dev/reads';

/** Pod annotation the consumer gate sets to touch a pod, so its kubelet resyncs the mounted Secret now. */
export const resyncAnnotation = 'rotor.dev/resync';

/** Label naming the canary a canary Job/Secret belongs to. */
export const canaryLabelKey = 'rotor.dev/canary';

export const esoGroup = 'external-secrets.io';
export const esoVersion = 'v1';
export const esoApiVersion = `${esoGroup}/${esoVersion}`;
export const externalSecretsPlural = 'externalsecrets';

/** Workflow id of an incident (`rotor incident start`): `incident/<id>`. */
export function incidentWorkflowId(id: string): string {
  return id.startsWith('incident/') ? id : `incident/${id}`;
}
