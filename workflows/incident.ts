import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  log,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { incidentRotationId } from '../core/incident/child-input';
import { backendKeys } from '../core/incident/backends';
import { incidentInputProblems } from '../core/incident/input';
import { incidentReport, incidentStatus, nextStartable, throttleCounts } from '../core/incident/status';
import {
  isThrottling,
  maxThrottledAttempts,
  reportedThrottleBackoffMs,
  throttleBackoffMs,
} from '../core/incident/throttling';
import type {
  ChildRecord,
  IncidentCarried,
  IncidentInput,
  IncidentReport,
  IncidentStatus,
} from '../core/incident/types';
import type { OperatorAction } from '../core/status';
import { WorkflowErrorTypes } from '../core/failures';
import { attentionPollMs, markStuck } from './incident/attention';
import { classify, runChild } from './incident/children';
import {
  abortIncidentUpdate,
  backendThrottledSignal,
  incidentStatusQuery,
  pauseIncidentSignal,
  resumeIncidentSignal,
} from './incident/definitions';
import { renderIncidentDetails } from './incident/details';
import { operatorHandlers } from './incident/operator';

/** Continue as new past this many history events unless the input says otherwise. */
const defaultMaxHistoryEvents = 10_000;

/** A malformed input fails the incident before anything starts, naming each field. */
function checkInput(input: IncidentInput): void {
  const problems = incidentInputProblems(input);
  if (problems.length)
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.invalidIncident,
      message: `invalid incident, nothing was started:\n${problems.join('\n')}`,
      nonRetryable: true,
    });
}

function freshRecords(input: IncidentInput): ChildRecord[] {
  return input.targets.map((t) => ({
    secret: t.playbook.spec.secret.name,
    workflowId: incidentRotationId(input, t),
    backends: backendKeys(t.playbook),
    state: 'pending',
    attempts: 0,
  }));
}

/**
 * One incident, many rotations: starts the emergency rotation of every selected playbook as a
 * child (each admitted by the policy on its own, as `rotor rotate --emergency` is), at most
 * `concurrency` at once and `perBackend` per backend, backing a backend off when it throttles.
 * A running rotation a backend throttled (reported by the worker) holds new starts on its backends
 * for a few seconds. Pause holds new starts, abort cancels the running rotations (each rolls back on its own). Past
 * `maxHistoryEvents` it stops starting, lets the running ones end and continues as new with its
 * records. Ends with one outcome and the report of every rotation.
 */
export async function incidentWorkflow(input: IncidentInput): Promise<IncidentReport> {
  checkInput(input);
  const incidentId = workflowInfo().workflowId;
  const carried: IncidentCarried = input.carried ?? {
    records: freshRecords(input),
    paused: false,
    startedAt: Date.now(),
    continuations: 0,
    backoffUntil: {},
    throttles: {},
  };
  const records = carried.records;
  const targets = new Map(input.targets.map((t) => [t.playbook.spec.secret.name, t]));
  let aborted: OperatorAction | undefined;
  let ended = false;
  let changes = 0;
  const changed = () => changes++;

  const status = (): IncidentStatus =>
    incidentStatus(input, carried, { incidentId, ended, now: Date.now(), ...(aborted ? { aborted } : {}) });
  const publish = () => setCurrentDetails(renderIncidentDetails(status()));

  setHandler(incidentStatusQuery, status);
  setHandler(backendThrottledSignal, (t) => {
    // Only a running rotation of this incident counts: anything else is stale or not ours.
    const record = records.find((r) => r.workflowId === t.workflowId && r.state === 'running');
    if (!record || aborted) return;
    const reported = (carried.reportedThrottles ??= {});
    for (const b of record.backends) {
      reported[b] = (reported[b] ?? 0) + 1;
      carried.backoffUntil[b] = Math.max(carried.backoffUntil[b] ?? 0, Date.now() + reportedThrottleBackoffMs);
    }
    changed();
  });
  // Running rotations live in this scope: an abort cancels it, and each of them rolls back.
  const children = new CancellationScope();
  const steer = operatorHandlers(
    { input, carried, changed },
    {
      pause: (a) => {
        carried.paused = true;
        log.info('incident paused', { by: a.by, reason: a.reason });
        changed();
      },
      resume: (a) => {
        carried.paused = false;
        log.info('incident resumed', { by: a.by, reason: a.reason });
        changed();
      },
      abort: (a) => {
        aborted = { by: a.by, ...(a.reason !== undefined ? { reason: a.reason } : {}) }; // not its attestation
        const running = records.filter((r) => r.state === 'running').length;
        children.cancel();
        changed();
        return `aborting: ${running} running rotation(s) cancelled (each rolls back before its point of no return), nothing more starts`;
      },
    },
    () => {
      if (ended || aborted) throw new Error(`incident ${incidentId} has ${aborted ? 'been aborted' : 'ended'} already`);
    },
  );
  setHandler(pauseIncidentSignal, steer.pause);
  setHandler(resumeIncidentSignal, steer.resume);
  setHandler(abortIncidentUpdate, steer.abort, { validator: steer.abortValidator });

  const start = (record: ChildRecord) => {
    const target = targets.get(record.secret);
    if (!target) throw new Error(`no target for ${record.secret}`);
    record.state = 'running';
    record.startedAt = Date.now();
    record.attempts++;
    startedHere++;
    delete record.endedAt;
    delete record.why;
    void children
      .run(() => runChild(input, incidentId, target, record))
      .then(
        () => {
          record.state = 'rotated';
        },
        (err: unknown) => {
          Object.assign(record, classify(err));
          backOffIfThrottled(record);
        },
      )
      .finally(() => {
        record.endedAt = Date.now();
        changed();
      });
  };
  /** A rotation a backend throttled: that backend pauses, and the rotation is started again later. */
  const backOffIfThrottled = (record: ChildRecord) => {
    if (aborted || record.state !== 'rolled-back' || !isThrottling(record.why ?? '')) return;
    for (const b of record.backends) {
      const n = (carried.throttles[b] ?? 0) + 1;
      carried.throttles[b] = n;
      carried.backoffUntil[b] = Math.max(carried.backoffUntil[b] ?? 0, Date.now() + throttleBackoffMs(n));
    }
    log.warn('rotation throttled: backing off its backends', { secret: record.secret, backends: record.backends });
    if (record.attempts < maxThrottledAttempts) {
      record.why = `throttled, starting again after a back-off: ${record.why ?? ''}`;
      record.state = 'pending';
    }
  };
  let startedHere = 0;
  let lastPoll = Date.now();
  // Only after this run started something, so a continuation always makes progress.
  const historyTooLong = () =>
    startedHere > 0 &&
    (workflowInfo().historyLength >= (input.maxHistoryEvents ?? defaultMaxHistoryEvents) ||
      workflowInfo().continueAsNewSuggested);

  for (;;) {
    publish();
    const draining = aborted !== undefined || historyTooLong();
    const now = Date.now();
    const next =
      draining || carried.paused
        ? undefined
        : nextStartable(
            records,
            { concurrency: input.concurrency, perBackend: input.perBackend },
            carried.backoffUntil,
            now,
          );
    if (next) {
      start(next);
      continue;
    }
    const pending = records.some((r) => r.state === 'pending');
    // A rotation stuck in needs-attention does not hold the incident open (it is abandoned, not lost).
    const active = records.some((r) => r.state === 'running');
    if (!active && (draining || !pending)) break;
    if (active && now - lastPoll >= attentionPollMs) {
      lastPoll = now;
      await markStuck(records);
      // The ask took time: the last rotations may have ended meanwhile, and no change would wake
      // the wait below before the next poll (a measured incident ended a minute after its last child).
      continue;
    }
    const seen = changes;
    const wake = [
      ...Object.values(carried.backoffUntil).filter((t) => t > now),
      ...(active ? [lastPoll + attentionPollMs] : []),
    ];
    const timeout = wake.length ? Math.max(1, Math.min(...wake) - now) : undefined;
    await (timeout !== undefined ? condition(() => changes !== seen, timeout) : condition(() => changes !== seen));
  }
  if (!aborted && records.some((r) => r.state === 'pending')) {
    log.info('incident continues as new', { historyLength: workflowInfo().historyLength });
    await continueAsNew<typeof incidentWorkflow>({
      ...input,
      carried: { ...carried, continuations: carried.continuations + 1 },
    });
  }
  ended = true;
  publish();
  const report = incidentReport(
    { incidentId, reason: input.reason, throttles: throttleCounts(carried), ...(aborted ? { aborted } : {}) },
    records,
  );
  log.info('incident ended', { outcome: report.outcome, counts: report.counts });
  return report;
}
