import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IncidentStatus } from '../../core/incident/types';
import type { OperatorAction } from '../../core/status';

/** Counts per state, the slowest and the failed rotations of an incident. */
export const incidentStatusQuery = defineQuery<IncidentStatus>('incidentStatusQuery');
/** No new rotation starts until resumed; running ones go on. */
export const pauseIncidentSignal = defineSignal<[OperatorAction]>('pauseIncidentSignal');
export const resumeIncidentSignal = defineSignal<[OperatorAction]>('resumeIncidentSignal');
/** Starts nothing more and cancels every running rotation (each rolls back on its own). Rejected once ended. */
export const abortIncidentUpdate = defineUpdate<string, [OperatorAction]>('abortIncidentUpdate');
