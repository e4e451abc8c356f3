import type { temporal } from '@temporalio/proto';
import { timeBudget } from './time-budget';

type History = temporal.api.history.v1.IHistory;
type Event = temporal.api.history.v1.IHistoryEvent;

const ms = (e: Event | undefined): number => {
  const t = e?.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
};

/** Mean, median, 95th percentile and maximum of `xs` (milliseconds), or undefined when empty. */
function stats(xs: number[]): { n: number; mean: number; p50: number; p95: number; max: number } | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p95: at(0.95), max: at(1) };
}

const sec = (x: number) => `${(x / 1000).toFixed(2)}`;
function line(name: string, xs: number[]): string {
  const st = stats(xs);
  return st
    ? `${name}: n ${st.n}, mean ${sec(st.mean)} s, p50 ${sec(st.p50)}, p95 ${sec(st.p95)}, max ${sec(st.max)}`
    : `${name}: none`;
}

/** Per-kind spans of one history: tasks' queue and run times, timers, children, signals sent. */
function spans(history: History): Map<string, number[]> {
  const events = history.events ?? [];
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const out = new Map<string, number[]>();
  const add = (k: string, v: number) => out.set(k, [...(out.get(k) ?? []), v]);
  const activityName = (scheduledId: unknown) =>
    byId.get(Number(scheduledId))?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
  for (const e of events) {
    const ws = e.workflowTaskStartedEventAttributes;
    if (ws) add('workflow task queued', ms(e) - ms(byId.get(Number(ws.scheduledEventId))));
    const wc = e.workflowTaskCompletedEventAttributes;
    if (wc) add('workflow task ran', ms(e) - ms(byId.get(Number(wc.startedEventId))));
    if (e.workflowTaskFailedEventAttributes) add('workflow task FAILED', 0);
    if (e.workflowTaskTimedOutEventAttributes) add('workflow task TIMED OUT', 0);
    const as = e.activityTaskStartedEventAttributes;
    if (as) {
      const name = activityName(as.scheduledEventId);
      add(`activity queued ${name}`, ms(e) - ms(byId.get(Number(as.scheduledEventId))));
      if (Number(as.attempt ?? 1) > 1) add(`activity retried ${name}`, Number(as.attempt));
    }
    const ac = e.activityTaskCompletedEventAttributes;
    if (ac) add(`activity ran ${activityName(ac.scheduledEventId)}`, ms(e) - ms(byId.get(Number(ac.startedEventId))));
    const af = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (af) add(`activity FAILED ${activityName(af.scheduledEventId)}`, 0);
    const tf = e.timerFiredEventAttributes;
    if (tf) add('timer fired', ms(e) - ms(byId.get(Number(tf.startedEventId))));
    const cs = e.childWorkflowExecutionStartedEventAttributes;
    if (cs) add(`child started ${cs.workflowType?.name ?? '?'}`, ms(e) - ms(byId.get(Number(cs.initiatedEventId))));
    const cc = e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes;
    if (cc) add(`child ran ${cc.workflowType?.name ?? '?'}`, ms(e) - ms(byId.get(Number(cc.initiatedEventId))));
    const sx = e.externalWorkflowExecutionSignaledEventAttributes;
    if (sx) add('signal sent', ms(e) - ms(byId.get(Number(sx.initiatedEventId))));
  }
  return out;
}

/**
 * Where the rotations' time went, from their histories: their open time split as `timeBudget`
 * does (mean per rotation), then per kind of span the mean, median, p95 and maximum: workflow
 * tasks queued and running, each activity type queued and running, timers, child workflows
 * (the store lock) starting and running. One line per kind.
 */
export function rotationProfile(histories: History[]): string[] {
  const budgets = histories.map((h) => timeBudget(h));
  const mean = (f: (b: (typeof budgets)[number]) => number) =>
    sec(budgets.reduce((a, b) => a + f(b), 0) / Math.max(1, budgets.length));
  const all = new Map<string, number[]>();
  for (const h of histories) for (const [k, v] of spans(h)) all.set(k, [...(all.get(k) ?? []), ...v]);
  return [
    `rotations profiled: ${histories.length}; mean per rotation: open ${mean((b) => b.open)} s = activities ${mean((b) => b.activities)} + ` +
      `workflow tasks ${mean((b) => b.workflowTasks)} + queued ${mean((b) => b.queued)} + other ${mean((b) => b.other)}; ` +
      `${mean((b) => b.workflowTaskCount * 1000)} workflow tasks, ${mean((b) => b.activityCount * 1000)} activities`,
    line(
      'rotation open',
      budgets.map((b) => b.open),
    ),
    ...[...all.keys()].sort().map((k) => line(k, all.get(k) ?? [])),
  ];
}

/**
 * The incident's own history: how many rotations ran at once over time (mean and peak, from its
 * child starts and ends), the time to reach the peak, and its workflow tasks' queue times.
 */
export function incidentProfile(history: History): string[] {
  const events = history.events ?? [];
  const t0 = ms(events[0]);
  const deltas: [number, number][] = [];
  for (const e of events) {
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) deltas.push([ms(e), 1]);
    if (
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionCanceledEventAttributes ??
      e.childWorkflowExecutionTerminatedEventAttributes ??
      e.childWorkflowExecutionTimedOutEventAttributes ??
      e.startChildWorkflowExecutionFailedEventAttributes
    )
      deltas.push([ms(e), -1]);
  }
  deltas.sort((a, b) => a[0] - b[0]);
  let running = 0;
  let peak = 0;
  let peakAt = 0;
  let area = 0;
  let last = t0;
  for (const [t, d] of deltas) {
    area += running * (t - last);
    last = t;
    running += d;
    if (running > peak) [peak, peakAt] = [running, t - t0];
  }
  const open = ms(events[events.length - 1]) - t0;
  const s = spans(history);
  return [
    `incident run: open ${sec(open)} s, rotations running at once: mean ${(area / Math.max(1, last - t0)).toFixed(1)}, ` +
      `peak ${peak} (first reached after ${sec(peakAt)} s)`,
    line('incident workflow task queued', s.get('workflow task queued') ?? []),
    line('incident workflow task ran', s.get('workflow task ran') ?? []),
    line('incident child started', s.get('child started rotationWorkflow') ?? []),
  ];
}
