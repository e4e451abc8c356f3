import { ApplicationFailure } from '@temporalio/common';
import type { RotationActivities } from '../../activities/index';

/** Where a fault is injected: right after the real activity changed the world. */
export type Fault = 'none' | 'create' | 'promote' | 'revoke-once';

/**
 * A switch for faults injected right after real steps: `wrap` returns the real activities with a
 * nonretryable `InjectedFault` after create or promote, or (once, then the switch turns itself off)
 * a retryable failure of `revokeRetryType` after revoke, as if its reply were lost.
 */
export function faultSwitch(revokeRetryType: string) {
  const state: { fault: Fault } = { fault: 'none' };
  const injected = (step: string) =>
    ApplicationFailure.create({ type: 'InjectedFault', message: `injected after ${step}`, nonRetryable: true });
  const wrap = (acts: RotationActivities): RotationActivities => ({
    ...acts,
    async createPendingVersion(input) {
      const out = await acts.createPendingVersion(input);
      if (state.fault === 'create') throw injected('create');
      return out;
    },
    async promoteVersion(input) {
      await acts.promoteVersion(input);
      if (state.fault === 'promote') throw injected('promote');
    },
    async revokeVersion(input) {
      const out = await acts.revokeVersion(input);
      if (state.fault === 'revoke-once') {
        state.fault = 'none';
        throw ApplicationFailure.retryable('injected after revoke (reply lost)', revokeRetryType);
      }
      return out;
    },
  });
  return { state, wrap };
}
