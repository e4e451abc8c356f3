import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OperatorAction, RotationStatus } from '../core/status';

export const statusQuery = defineQuery<RotationStatus>('statusQuery');
/** Releases the manual gate before revocation. Rejected when no approval is awaited. */
export const approveUpdate = defineUpdate<string, [OperatorAction]>('approveUpdate');
/** Aborts and compensates. Rejected once the old credential is being revoked (point of no return). */
export const abortUpdate = defineUpdate<string, [OperatorAction]>('abortUpdate');
export const skipSoakSignal = defineSignal<[OperatorAction]>('skipSoakSignal');
export const pauseSignal = defineSignal<[OperatorAction]>('pauseSignal');
export const resumeSignal = defineSignal<[OperatorAction]>('resumeSignal');
/** After the point of no return, asks a failing step to try again now. */
export const retrySignal = defineSignal<[OperatorAction]>('retrySignal');
