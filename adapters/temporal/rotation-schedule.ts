import { createHash } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleDescription, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import { canonicalJson } from '../../core/canonical-json';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../../core/search-attributes';
import type { RotationInput } from '../../core/status';

/**
 * How late a schedule may still take a missed run (after an outage of Temporal or the worker). A
 * RotationPlaybook's scheduled run taken later than this after its time is refused
 * (activities/identity.ts): only a backfill takes one.
 */
export const scheduleCatchupWindowMs = 24 * 3_600_000;

/** A rotor schedule as it should be: what `rotor schedule sync` and the controller create or update. */
export interface DesiredSchedule {
  scheduleId: string;
  spec: ScheduleSpec;
  action: ScheduleOptionsAction;
  /** `rotor:<digest> tenant=<owner>`: what was synced, so an unchanged playbook is left alone. */
  note: string;
  /** The interval and jitter of `spec`, in ms, to compare with a description. */
  every: number;
  jitter: number;
}

/**
 * The schedule that starts `input`'s rotation every `every` ms (the playbook's jitter), through the
 * launcher `launcherId` (it starts `rotate/<secret>`, so it never overlaps a manual run). `owner`
 * is recorded in the note: the tenant (`rotor schedule sync`) or the namespace (the controller).
 */
export function rotationSchedule(o: {
  scheduleId: string;
  launcherId: string;
  input: RotationInput;
  every: number;
  taskQueue: string;
  owner: string;
}): DesiredSchedule {
  const { input, every, taskQueue, owner } = o;
  const { playbook } = input;
  const secret = playbook.spec.secret.name;
  const jitter = playbook.spec.schedule?.jitter ?? 0;
  const spec: ScheduleSpec = { intervals: [{ every }], ...(jitter ? { jitter } : {}) };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'scheduledRotationWorkflow',
    workflowId: o.launcherId,
    taskQueue,
    args: [input],
    staticSummary: `scheduled rotation of ${secret}`,
    typedSearchAttributes: [
      { key: RotationSecret, value: secret },
      { key: RotationPlaybook, value: playbook.metadata.name },
      { key: RotationTrigger, value: 'schedule' },
      { key: RotationPhase, value: 'plan' },
    ],
  };
  const digest = createHash('sha256').update(JSON.stringify({ every, jitter, input, taskQueue, tenant: owner }));
  const note = `rotor:${digest.digest('hex').slice(0, 16)} tenant=${owner}`;
  return { scheduleId: o.scheduleId, spec, action, note, every, jitter };
}

/** The owner a schedule's note records (`… tenant=<owner>`); undefined before owners were recorded. */
export function ownerOfNote(note: string | undefined): string | undefined {
  return / tenant=(\S+)$/.exec(note ?? '')?.[1];
}

/** The schedule's description, or undefined when there is none. */
export function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  return client.schedule
    .getHandle(scheduleId)
    .describe()
    .catch((e: unknown) => {
      if (e instanceof ScheduleNotFoundError) return undefined;
      throw e;
    });
}

/**
 * How `current` differs from `d` apart from its note: paused, another interval or jitter, a
 * calendar, start or end, a limit of runs, other policies, or another workflow, id, task queue or
 * input. Anyone who may update a schedule through Temporal can
 * make these changes and keep rotor's note, so the note alone cannot tell that nothing changed.
 */
export function scheduleDrift(d: DesiredSchedule, current: ScheduleDescription): string[] {
  const drift: string[] = [];
  if (current.state.paused) drift.push('paused');
  const intervals = current.spec.intervals ?? [];
  if (intervals.length !== 1 || intervals[0]?.every !== d.every || (intervals[0]?.offset ?? 0) !== 0)
    drift.push('interval');
  if ((current.spec.jitter ?? 0) !== d.jitter) drift.push('jitter');
  if ((current.spec.calendars?.length ?? 0) > 0 || (current.spec.skip?.length ?? 0) > 0) drift.push('calendar');
  if (current.spec.startAt || current.spec.endAt) drift.push('window');
  if (current.state.remainingActions !== undefined) drift.push('limited');
  if (
    current.policies.overlap !== ScheduleOverlapPolicy.SKIP ||
    current.policies.catchupWindow !== scheduleCatchupWindowMs
  )
    drift.push('policies');
  const a = current.action;
  if (
    a.type !== 'startWorkflow' ||
    a.workflowType !== d.action.workflowType ||
    a.workflowId !== d.action.workflowId ||
    a.taskQueue !== d.action.taskQueue ||
    canonicalJson(a.args) !== canonicalJson(d.action.args)
  )
    drift.push('action');
  return drift;
}

/**
 * Makes the schedule `d` as it should be: created when `current` (its description) is none,
 * updated when its note differs, else left alone. Says which. With `restore` (the controller, the
 * only writer of its schedules) a schedule whose note matches but that was paused or changed
 * behind it (`scheduleDrift`) is put back and unpaused too; `rotor schedule sync` leaves an
 * operator's pause alone.
 */
export async function applySchedule(
  client: Client,
  d: DesiredSchedule,
  current: ScheduleDescription | undefined,
  o: { restore?: boolean } = {},
): Promise<'created' | 'updated' | 'unchanged'> {
  if (!current) {
    await client.schedule.create({
      scheduleId: d.scheduleId,
      spec: d.spec,
      action: d.action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: scheduleCatchupWindowMs },
      state: { note: d.note },
    });
    return 'created';
  }
  const restore = o.restore === true && scheduleDrift(d, current).length > 0;
  if (current.state.note === d.note && !restore) return 'unchanged';
  await client.schedule.getHandle(d.scheduleId).update((prev) => ({
    ...prev,
    spec: d.spec,
    action: d.action,
    ...(restore
      ? { policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: scheduleCatchupWindowMs } }
      : {}),
    state: restore ? { note: d.note, paused: false } : { ...prev.state, note: d.note },
  }));
  return 'updated';
}

/** Deletes the schedule; one already gone is no error. */
export async function deleteSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch((e: unknown) => {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
    });
}
