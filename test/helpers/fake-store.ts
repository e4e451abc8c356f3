import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createAdmissionActivities } from '../../activities/admission';
import type { RotationActivities } from '../../activities/index';
import { loadPolicyFile } from '../../adapters/policy-file';
import type {
  CreateInput,
  DemoteInput,
  DiscardInput,
  FinalizeInput,
  PlanInput,
  PlanResult,
  PromoteInput,
  RevokeInput,
  VersionRef,
} from '../../core/contracts';
import { validatePlaybook } from '../../core/playbook/validate';
import type { CheckedPlaybook } from '../../core/playbook/validate';
import type { RevocationEvidence } from '../../core/status';
import { devPolicyFile } from '../../dev/local-stack/config';

/** One activity call, stamped with the workflow-time (test server clock) it was scheduled at. */
export interface StoreCall {
  name: string;
  at: number;
}

/**
 * An in-memory store for one rotation, for workflow tests on the time-skipping server: what is
 * current, pending, previous and revoked, and when (in workflow time) each store call came. The
 * real store activities run against Vault and moto in the integration tests; here timing matters.
 * `failRevokeUntil` makes revoke fail (a permanent 403) for calls scheduled before that instant.
 */
export type FakeStore = ReturnType<typeof fakeStore>;

function fakeStore() {
  const state = {
    current: 'v1',
    pending: null as string | null,
    previous: null as string | null,
    revoked: [] as string[],
    finalized: false,
    failRevokeUntil: 0,
  };
  const calls: StoreCall[] = [];
  let next = 2;
  const ref = (version: string): VersionRef => ({ version, fingerprint: `hmac:test:${version}` });
  const called = (name: string) => {
    const at = Context.current().info.currentAttemptScheduledTimestampMs;
    calls.push({ name, at });
    return at;
  };

  const activities = {
    planRotation(_: PlanInput): Promise<PlanResult> {
      called('planRotation');
      return Promise.resolve({
        current: ref(state.current),
        previousVersion: state.previous,
        stalePendingVersion: null,
      });
    },
    createPendingVersion(_: CreateInput): Promise<VersionRef> {
      called('createPendingVersion');
      state.pending ??= `v${next++}`;
      return Promise.resolve(ref(state.pending));
    },
    discardPendingVersion(_: DiscardInput): Promise<void> {
      called('discardPendingVersion');
      state.pending = null;
      return Promise.resolve();
    },
    promoteVersion(i: PromoteInput): Promise<void> {
      called('promoteVersion');
      if (state.current === i.currentVersion) {
        state.previous = state.current;
        state.current = i.pendingVersion;
        state.pending = null;
      }
      return Promise.resolve();
    },
    demoteVersion(i: DemoteInput): Promise<void> {
      called('demoteVersion');
      if (state.current === i.pendingVersion) {
        state.current = i.currentVersion;
        state.previous = i.previousVersion;
        state.pending = i.pendingVersion;
      }
      return Promise.resolve();
    },
    revokeVersion(i: RevokeInput): Promise<RevocationEvidence> {
      const at = called('revokeVersion');
      if (at < state.failRevokeUntil)
        return Promise.reject(
          ApplicationFailure.create({
            type: 'PermissionDenied',
            message: `revoke ${i.revokedVersion}: access denied (injected)`,
            nonRetryable: true,
          }),
        );
      if (!state.revoked.includes(i.revokedVersion)) state.revoked.push(i.revokedVersion);
      return Promise.resolve({ rejected: true, detail: `version ${i.revokedVersion} refused (fake store)` });
    },
    finalizeRotation(_: FinalizeInput): Promise<void> {
      called('finalizeRotation');
      state.finalized = true;
      return Promise.resolve();
    },
  } satisfies Partial<RotationActivities>;

  /** When (workflow time) activity `name` was first scheduled; throws when it never was. */
  const firstAt = (name: string): number => {
    const call = calls.find((c) => c.name === name);
    if (!call) throw new Error(`${name} was never called; calls: ${calls.map((c) => c.name).join(', ')}`);
    return call.at;
  };
  return { state, calls, activities, firstAt, names: () => calls.map((c) => c.name) };
}

/**
 * Store activities for one worker shared by a test file: each call goes to the fake store of the
 * rotation (workflow id) that scheduled it. Playbook checks and admission are the real activities
 * (with the development allow-all policy).
 */
export function fakeStores() {
  const stores = new Map<string, FakeStore>();
  const of = (workflowId: string): FakeStore => {
    let s = stores.get(workflowId);
    if (!s) stores.set(workflowId, (s = fakeStore()));
    return s;
  };
  // The fake store of the rotation whose workflow scheduled the running activity.
  const mine = () => {
    const workflowId = Context.current().info.workflowExecution?.workflowId;
    if (!workflowId) throw new Error('fake store activities run for rotation workflows only');
    return of(workflowId).activities;
  };
  const activities = {
    ...createAdmissionActivities({ policy: loadPolicyFile(devPolicyFile), defaults: {} }),
    checkPlaybook({ playbook, file }: { playbook: unknown; file: string }): Promise<CheckedPlaybook> {
      return Promise.resolve(validatePlaybook(playbook, file));
    },
    planRotation: (i: PlanInput) => mine().planRotation(i),
    createPendingVersion: (i: CreateInput) => mine().createPendingVersion(i),
    discardPendingVersion: (i: DiscardInput) => mine().discardPendingVersion(i),
    promoteVersion: (i: PromoteInput) => mine().promoteVersion(i),
    demoteVersion: (i: DemoteInput) => mine().demoteVersion(i),
    revokeVersion: (i: RevokeInput) => mine().revokeVersion(i),
    finalizeRotation: (i: FinalizeInput) => mine().finalizeRotation(i),
  } satisfies Partial<RotationActivities>;
  return { activities, of };
}
