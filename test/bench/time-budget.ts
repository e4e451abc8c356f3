import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

/** Where a workflow run's open time went, read from its history (milliseconds, each a union of intervals). */
export interface TimeBudget {
  /** Workflow start to its first workflow task's start: the worker's first pickup. */
  firstPickup: number;
  /** Some activity was running. */
  activities: number;
  /** Some workflow task was running and no activity was (the worker's own workflow code and replay). */
  workflowTasks: number;
  /** A task waited in a task queue while nothing of this run was running: worker pickup, slots, load. */
  queued: number;
  /** Everything else: timers, and the server between a task's completion and the next one's schedule. */
  other: number;
  open: number;
  activityCount: number;
  workflowTaskCount: number;
}

const ms = (e: Event | undefined): number => {
  const t = e?.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
};

type Span = [number, number];

/** Total length of the union of `spans`. */
function unionLength(spans: Span[]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Length of the union of `spans` outside the union of `cover`. */
function uncovered(spans: Span[], cover: Span[]): number {
  return unionLength([...spans, ...cover]) - unionLength(cover);
}

/**
 * The time budget of one run: per task its schedule, start and completion events (matched by the
 * scheduled event's id), turned into queued and running spans, then the open time split by what was
 * happening, in the order activity running > workflow task running > queued > other.
 */
export function timeBudget(history: temporal.api.history.v1.IHistory): TimeBudget {
  const events = history.events ?? [];
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const queued: Span[] = [];
  const activity: Span[] = [];
  const wfTask: Span[] = [];
  let firstTaskStart: number | undefined;
  for (const e of events) {
    const a = e.activityTaskStartedEventAttributes;
    const aDone =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    const w = e.workflowTaskStartedEventAttributes;
    const wDone =
      e.workflowTaskCompletedEventAttributes ??
      e.workflowTaskFailedEventAttributes ??
      e.workflowTaskTimedOutEventAttributes;
    if (a) queued.push([ms(byId.get(Number(a.scheduledEventId))), ms(e)]);
    if (aDone) activity.push([ms(byId.get(Number(aDone.startedEventId))), ms(e)]);
    if (w) {
      queued.push([ms(byId.get(Number(w.scheduledEventId))), ms(e)]);
      firstTaskStart ??= ms(e);
    }
    if (wDone) wfTask.push([ms(byId.get(Number(wDone.startedEventId))), ms(e)]);
  }
  const start = ms(events[0]);
  const open = ms(events[events.length - 1]) - start;
  const activities = unionLength(activity);
  const workflowTasks = uncovered(wfTask, activity);
  const waiting = uncovered(queued, [...activity, ...wfTask]);
  return {
    firstPickup: (firstTaskStart ?? start) - start,
    activities,
    workflowTasks,
    queued: waiting,
    other: open - activities - workflowTasks - waiting,
    open,
    activityCount: activity.length,
    workflowTaskCount: wfTask.length,
  };
}

/** One line: `open 2.9 s = activities 1.2 s (14) + workflow tasks 0.4 s (23) + queued 0.9 s + other 0.4 s; first pickup 0.1 s`. */
export function formatBudget(b: TimeBudget): string {
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  return (
    `open ${s(b.open)} = activities ${s(b.activities)} (${b.activityCount}) + workflow tasks ${s(b.workflowTasks)} ` +
    `(${b.workflowTaskCount}) + queued ${s(b.queued)} + other ${s(b.other)}; first pickup ${s(b.firstPickup)}`
  );
}
