import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BackendThrottled, IncidentStatus } from '../../core/incident/types';
import type { OperatorAction } from '../../core/status';

/** Counts per state, the slowest and the failed rotations of an incident. */
export const incidentStatusQuery = defineQuery<IncidentStatus>('incidentStatusQuery');
/** No new rotation starts until resumed; running ones go on. */
export const pauseIncidentSignal = defineSignal<[OperatorAction]>('pauseIncidentSignal');
export const resumeIncidentSignal = defineSignal<[OperatorAction]>('resumeIncidentSignal');
/** Starts nothing more and cancels every running rotation (each rolls back on its own). Rejected once ended. */
export const abortIncidentUpdate = defineUpdate<string, [OperatorAction]>('abortIncidentUpdate');
/**
 * A worker saw a backend throttle one of the incident's running rotations (workers/throttle-reporting.ts):
 * no new rotation starts on that rotation's backends for a few seconds, and the throttle is counted.
 */
export const backendThrottledSignal = defineSignal<[BackendThrottled]>('backendThrottledSignal');
