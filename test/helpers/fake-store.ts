import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createAdmissionActivities } from '../../activities/admission';
import { createIncidentActivities } from '../../activities/incident';
import type { RotationActivities } from '../../activities/index';
import { admissionKeys } from '../../adapters/admission-token';
import { keyring } from '../../adapters/keys';
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
  SecretReader,
  VersionRef,
} from '../../core/contracts';
import { batchSummary } from '../../core/cluster-batch';
import type { ClusterBatchInput, ClusterBatchReport, ClusterBatchStep } from '../../core/cluster-batch';
import { clusterConsumers } from '../../core/consumers';
import { ErrorTypes, RetryableErrorTypes, permanent, throttled } from '../../core/failures';
import type { GateInput, GateReport, GateStep } from '../../core/gate';
import { validatePlaybook } from '../../core/playbook/validate';
import type { CheckedPlaybook } from '../../core/playbook/validate';
import type { RevocationEvidence } from '../../core/status';
import { devPolicyFile } from '../../dev/local-stack/config';

/** One activity attempt, stamped with the test server's clock (workflow time) when it ran. */
export interface StoreCall {
  name: string;
  at: number;
}

/**
 * An in-memory store for one rotation, for workflow tests on the time-skipping server: what is
 * current, pending, previous and revoked, and when (in workflow time) each store call came. The
 * real store activities run against Vault and moto in the integration tests; here timing matters.
 * `failRevokeUntil` makes revoke fail (a permanent 403) for calls scheduled before that instant;
 * `outages[activity]` makes that activity fail as a store outage (retryable) until its instant.
 */
export type FakeStore = ReturnType<typeof fakeStore>;

type StoreActivities = Pick<
  RotationActivities,
  | 'planRotation'
  | 'createPendingVersion'
  | 'discardPendingVersion'
  | 'promoteVersion'
  | 'demoteVersion'
  | 'revokeVersion'
  | 'finalizeRotation'
  | 'syncClusterBatch'
  | 'consumerGate'
>;

function fakeStore(clock: () => Promise<number>) {
  const state = {
    current: 'v1',
    pending: null as string | null,
    previous: null as string | null,
    revoked: [] as string[],
    finalized: false,
    failRevokeUntil: 0,
    outages: {} as Partial<Record<keyof StoreActivities, number>>,
    /** Like `outages`, but lasting this long (ms) from the activity's first call: each rotation sees its own. */
    outageFor: {} as Partial<Record<keyof StoreActivities, number>>,
    /** What plan finds wrong with the consumers (a bare envFrom pod): refused unless compromised. */
    consumerProblems: [] as string[],
    /** Runs when the activity is first called, before anything else it does (a test stops a worker there). */
    onFirstCall: {} as Partial<Record<keyof StoreActivities, () => void>>,
    /** This many calls of the activity fail as the backend throttling them (`BackendThrottled`, as Vault's 429 does). */
    throttled: {} as Partial<Record<keyof StoreActivities, number>>,
    /** This many create calls fail as the backend throttling the rotation (permanent: the rotation rolls back). */
    throttledCreates: 0,
    /** The consumer gate of these steps fails in every cluster (a pod that lies about what it read). */
    gateFails: [] as GateStep[],
    /** Clusters whose batched step fails (a 403 on their Secret), by step. */
    clusterFails: {} as Partial<Record<ClusterBatchStep, string[]>>,
    /**
     * Plan reports readers and consumers for every cluster as the real plan does for a fleet with
     * no consumer pods: the first cluster's reader list in full, the others `sameReadersAs` it.
     */
    planDetail: false,
  };
  const calls: StoreCall[] = [];
  const firstCall: Partial<Record<keyof StoreActivities, number>> = {};
  let next = 2;
  const ref = (version: string): VersionRef => ({ version, fingerprint: `hmac:test:${version}` });
  /** Records the attempt at the server's clock (it stands still while an activity runs) and injects outages. */
  const called = async (name: keyof StoreActivities): Promise<number> => {
    const at = await clock();
    calls.push({ name, at });
    if (firstCall[name] === undefined) state.onFirstCall[name]?.();
    const first = (firstCall[name] ??= at);
    if (at < (state.outages[name] ?? 0) || at < first + (state.outageFor[name] ?? 0))
      throw ApplicationFailure.retryable(`${name}: connect ECONNREFUSED (injected outage)`, RetryableErrorTypes.aws);
    const throttles = state.throttled[name] ?? 0;
    if (throttles > 0) {
      state.throttled[name] = throttles - 1;
      // No jitter: the test reads the back-off itself.
      throw throttled(
        `${name}: throttled (HTTP 429 Too Many Requests: rate limit quota exceeded, injected)`,
        undefined,
        0,
      );
    }
    return at;
  };

  const activities = {
    async planRotation(i: PlanInput): Promise<PlanResult> {
      await called('planRotation');
      if (state.consumerProblems.length && !i.compromised)
        throw permanent(ErrorTypes.consumerNotRolledOut, `nothing was changed:\n${state.consumerProblems.join('\n')}`);
      return {
        current: ref(state.current),
        previousVersion: state.previous,
        stalePendingVersion: null,
        ...(state.consumerProblems.length ? { consumerWarnings: state.consumerProblems } : {}),
        ...(state.planDetail ? planDetail(i.clusters ?? []) : {}),
      };
    },
    async syncClusterBatch(i: ClusterBatchInput): Promise<ClusterBatchReport> {
      await called('syncClusterBatch');
      const fails = new Set(state.clusterFails[i.step] ?? []);
      const outcomes = i.clusters.map((c) =>
        fails.has(c.name)
          ? {
              cluster: c.name,
              ok: false,
              error: `secrets "${c.secretName}" is forbidden in ${c.namespace} (injected)`,
              type: 'PermissionDenied',
            }
          : { cluster: c.name, ok: true },
      );
      return { step: i.step, outcomes, summary: batchSummary(i.step, outcomes) };
    },
    async consumerGate(i: GateInput): Promise<GateReport> {
      await called('consumerGate');
      const fails = state.gateFails.includes(i.step);
      return {
        step: i.step,
        outcomes: i.clusters.map((c) => ({
          cluster: c.name,
          ok: !fails,
          pods: 1,
          reported: fails ? 0 : 1,
          settled: 0,
          restarted: 0,
          waitedMs: 0,
          detail: fails ? `${c.name}: pod app-0 still reports reading version ${state.current}` : '1 reported',
        })),
      };
    },
    async createPendingVersion(_: CreateInput): Promise<VersionRef> {
      await called('createPendingVersion');
      if (state.throttledCreates > 0) {
        state.throttledCreates--;
        throw ApplicationFailure.create({
          type: RetryableErrorTypes.aws,
          message: 'ThrottlingException: Rate exceeded (injected)',
          nonRetryable: true,
        });
      }
      state.pending ??= `v${next++}`;
      return ref(state.pending);
    },
    async discardPendingVersion(_: DiscardInput): Promise<void> {
      await called('discardPendingVersion');
      state.pending = null;
    },
    async promoteVersion(i: PromoteInput): Promise<void> {
      await called('promoteVersion');
      if (state.current !== i.currentVersion) return;
      state.previous = state.current;
      state.current = i.pendingVersion;
      state.pending = null;
    },
    async demoteVersion(i: DemoteInput): Promise<void> {
      await called('demoteVersion');
      if (state.current !== i.pendingVersion) return;
      state.current = i.currentVersion;
      state.previous = i.previousVersion;
      state.pending = i.pendingVersion;
    },
    async revokeVersion(i: RevokeInput): Promise<RevocationEvidence> {
      const at = await called('revokeVersion');
      if (at < state.failRevokeUntil)
        throw ApplicationFailure.create({
          type: 'PermissionDenied',
          message: `revoke ${i.revokedVersion}: access denied (injected)`,
          nonRetryable: true,
        });
      if (!state.revoked.includes(i.revokedVersion)) state.revoked.push(i.revokedVersion);
      return { rejected: true, detail: `version ${i.revokedVersion} refused (fake store)` };
    },
    async finalizeRotation(_: FinalizeInput): Promise<void> {
      await called('finalizeRotation');
      state.finalized = true;
    },
  } satisfies StoreActivities;

  /** When (workflow time) activity `name` first ran; throws when it never did. */
  const firstAt = (name: string): number => {
    const call = calls.find((c) => c.name === name);
    if (!call) throw new Error(`${name} was never called; calls: ${calls.map((c) => c.name).join(', ')}`);
    return call.at;
  };
  return { state, calls, activities, firstAt, names: () => calls.map((c) => c.name) };
}

/** Readers and consumers of `clusters` as plan reports them for a fleet without consumer pods. */
function planDetail(clusters: NonNullable<PlanInput['clusters']>): Pick<PlanResult, 'readers' | 'consumers'> {
  const first = clusters[0]?.name;
  const reader = (identity: string, via: string): SecretReader => ({
    identity,
    kind: 'ServiceAccount',
    verbs: ['get', 'list', 'watch'],
    via: [via],
    system: false,
    rotor: true,
    consumer: false,
    flagged: false,
    confirmed: true,
  });
  return {
    readers: clusters.map((c) => ({
      cluster: c.name,
      namespace: c.namespace,
      secretName: c.secretName,
      readers:
        c.name === first
          ? [reader('serviceaccount:rotor/rotor-worker', 'rotor-worker → rotor-secrets (cluster-wide)')]
          : [],
      consumers: [],
      unseen: [],
      ...(c.name === first ? {} : { sameReadersAs: first }),
    })),
    consumers: clusters.map((c) =>
      clusterConsumers({ cluster: c.name, namespace: c.namespace, secretName: c.secretName }, []),
    ),
  };
}

/**
 * Store activities for one worker shared by a test file: each call goes to the fake store of the
 * rotation (workflow id) that scheduled it. Playbook checks and admission are the real activities
 * (with the development allow-all policy).
 */
export function fakeStores(clock: () => Promise<number>) {
  const stores = new Map<string, FakeStore>();
  const of = (workflowId: string): FakeStore => {
    let s = stores.get(workflowId);
    if (!s) stores.set(workflowId, (s = fakeStore(clock)));
    return s;
  };
  // The fake store of the rotation whose workflow scheduled the running activity, or whose batch
  // child did (its id begins with the rotation's).
  const mine = () => {
    const workflowId = Context.current().info.workflowExecution?.workflowId;
    if (!workflowId) throw new Error('fake store activities run for rotation workflows only');
    const rotation = [...stores.keys()].find((id) => workflowId.startsWith(`${id}/`)) ?? workflowId;
    return of(rotation).activities;
  };
  const activities = {
    ...createAdmissionActivities({
      policy: loadPolicyFile(devPolicyFile),
      defaults: {},
      keys: admissionKeys(keyring([{ id: 'time-skipping', key: randomBytes(32) }])),
    }),
    ...createIncidentActivities(),
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
    syncClusterBatch: (i: ClusterBatchInput) => mine().syncClusterBatch(i),
    consumerGate: (i: GateInput) => mine().consumerGate(i),
  } satisfies Partial<RotationActivities>;
  return { activities, of };
}
