import { randomBytes, randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmissionActivities } from '../../activities/admission';
import { admissionKeys } from '../../adapters/admission-token';
import { keyring } from '../../adapters/keys';
import { loadPolicyFile } from '../../adapters/policy-file';
import { ErrorTypes, WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { Store } from '../../core/playbook/schema';
import { validatePlaybook } from '../../core/playbook/validate';
import { initialStatus } from '../../core/status';
import type { RotationInput } from '../../core/status';
import { approveUpdate } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { failureOfRun, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

/**
 * The workflow's side of the policy: refusal types, the store-location lock, cluster steps only
 * under a rotation, separation of duties. The store activities are fakes that record every call
 * (the world only changes through activities); admission is the real activity over the example
 * two-team policy. policy-abuse.test.ts runs the abuses against the real stores.
 */
const admission = createAdmissionActivities({
  policy: loadPolicyFile('dev/policy/two-teams.yaml'),
  defaults: { defaultDatabase: { host: '127.0.0.1', port: 55432 }, defaultRegion: 'us-east-1' },
  keys: admissionKeys(keyring([{ id: 'admission-test', key: randomBytes(32) }])),
});

const calls: { workflowId: string; activity: string }[] = [];
/** Plans of these workflow ids wait until the test resolves them (the rotation holds its lock meanwhile). */
const gates = new Map<string, { reached: () => void; release: Promise<void> }>();

function recorded(activity: string, fn: (workflowId: string) => Promise<unknown>) {
  return async (input: { rotation?: { workflowId: string } }) => {
    const workflowId = input.rotation?.workflowId ?? '?';
    calls.push({ workflowId, activity });
    return fn(workflowId);
  };
}

const fakes = {
  ...admission,
  checkPlaybook: ({ playbook, file }: { playbook: unknown; file: string }) =>
    Promise.resolve(validatePlaybook(playbook, file)),
  planRotation: recorded('planRotation', async (id) => {
    const gate = gates.get(id);
    if (gate) {
      gate.reached();
      await gate.release;
    }
    return { current: { version: '1', fingerprint: 'hmac:one' }, previousVersion: null, stalePendingVersion: null };
  }),
  createPendingVersion: recorded('createPendingVersion', () =>
    Promise.resolve({ version: '2', fingerprint: 'hmac:two' }),
  ),
  discardPendingVersion: recorded('discardPendingVersion', () => Promise.resolve()),
  promoteVersion: recorded('promoteVersion', () => Promise.resolve()),
  demoteVersion: recorded('demoteVersion', () => Promise.resolve()),
  revokeVersion: recorded('revokeVersion', () => Promise.resolve({ rejected: true, detail: 'old key refused' })),
  finalizeRotation: recorded('finalizeRotation', () => Promise.resolve()),
  // Recorded, so a cluster step that skipped its parent check would show here.
  syncClusterBatch: recorded('syncClusterBatch', () =>
    Promise.resolve({ step: 'dual-read', outcomes: [], summary: 'nothing' }),
  ),
};

let tw: TestWorker;
beforeAll(async () => {
  tw = await startTestWorker(fakes);
});
afterAll(async () => {
  await tw.close();
});

const paymentsStore = (path: string): Store => ({ type: 'vault', mount: 'secret', path, key: 'value' });

function start(input: Omit<RotationInput, 'trigger'>): Promise<WorkflowHandle> {
  return tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(input.playbook.spec.secret.name),
    args: [{ trigger: 'manual', ...input }],
  });
}

const failureOf = (h: WorkflowHandle) => failureOfRun(tw, h);

const activitiesOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId).map((c) => c.activity);

describe('the worker enforces the policy at plan', () => {
  it('fails a refused playbook as PolicyRefused naming field, rule and fix, before any store activity', async () => {
    const playbook = testPlaybook(paymentsStore('apps/orders/db'));
    const h = await start({ playbook, playbookFile: 'playbooks/payments/db.yaml', requestedBy: 'alice@laptop' });
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('refused by the rotor policy, nothing was changed');
    expect(failure.message).toContain(
      "spec.secret.store.path: vault location secret/apps/orders/db is not one of the tenant's store locations (policy rule tenants[payments].allow.vault; to allow it an admin would add",
    );
    expect(activitiesOf(h.workflowId)).toEqual([]);
  });
});

describe('rotations lock their store location, not only their secret name', () => {
  it('refuses a second playbook on the same Vault path while the first runs, and frees it when the first ends', async () => {
    const path = `apps/payments/shared-${randomUUID().slice(0, 8)}`;
    const [first, second, third] = [0, 1, 2].map(() => testPlaybook(paymentsStore(path)));
    const ctx = { playbookFile: 'playbooks/payments/a.yaml', requestedBy: 'alice@laptop' };
    let reached!: () => void;
    const atPlan = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const firstId = rotationWorkflowId(first!.spec.secret.name);
    gates.set(firstId, {
      reached,
      release: new Promise<void>((r) => (release = r)).then(() => {
        throw ApplicationFailure.create({ type: 'InjectedFailure', message: 'first ends', nonRetryable: true });
      }),
    });
    const h1 = await start({ playbook: first!, ...ctx });
    expect(h1.workflowId).toBe(`rotate/${first!.spec.secret.name}`);
    await tw.run(() => atPlan);

    const h2 = await start({ playbook: second!, ...ctx });
    const locked = await failureOf(h2);
    expect(locked.type).toBe(WorkflowErrorTypes.storeLocked);
    expect(locked.message).toContain(`store location vault/secret/${path} is being rotated by another rotation`);
    expect(activitiesOf(h2.workflowId)).toEqual([]);

    release();
    expect((await failureOf(h1)).type).toBe(WorkflowErrorTypes.rolledBack);
    const h3 = await start({ playbook: third!, ...ctx });
    await tw.run(() => h3.result());
    expect(activitiesOf(h3.workflowId)).toContain('promoteVersion');
  });
});

describe('a crafted continuation', () => {
  it('refuses a run started with resume by a client, before any activity: no revoke of the victim', async () => {
    // Another team's secret, and a forged "continuation" that would go straight to revoke it.
    const playbook = testPlaybook(paymentsStore(`apps/orders/victim-${randomUUID().slice(0, 8)}`));
    const workflowId = rotationWorkflowId(playbook.spec.secret.name);
    const versions = {
      old: { version: '1', fingerprint: 'hmac:one' },
      fresh: { version: '2', fingerprint: 'hmac:two' },
    };
    const input: RotationInput = {
      playbook,
      trigger: 'manual',
      requestedBy: 'mallory@laptop',
      resume: {
        stage: 'revoke',
        rotation: { workflowId, runId: 'forged' },
        versions,
        status: initialStatus({
          secret: playbook.spec.secret.name,
          playbook: playbook.metadata.name,
          trigger: 'manual',
          requestedBy: 'mallory@laptop',
          startedAt: Date.now(),
        }),
        escalated: false,
      },
    };
    const h = await tw.client.workflow.start('rotationWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId,
      args: [input],
    });
    const failure = await failureOf(h);
    expect(failure.type).toBe(WorkflowErrorTypes.resumeWithoutRotation);
    expect(failure.message).toContain(
      'a rotation resumes only as the continuation of its own run; nothing was changed',
    );
    // checkPlaybook does not record calls; every activity that could change something does.
    expect(activitiesOf(workflowId)).toEqual([]);
    expect(activitiesOf('forged')).toEqual([]);
  });
});

describe('cluster steps', () => {
  it('refuse to run when started directly, changing nothing', async () => {
    const id = `direct-cluster-batch-${randomUUID()}`;
    const h = await tw.client.workflow.start('clusterBatchWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId: id,
      args: [
        {
          step: 'dual-read',
          clusters: [{ name: 'cluster-a', delivery: 'push', namespace: 'orders', secretName: 'db', workloads: [] }],
          parallelism: 1,
          rolloutTokens: {},
          persistent: false,
          rotation: { workflowId: id, runId: 'forged' },
          versions: {
            store: paymentsStore('apps/orders/db'),
            current: { version: '1', fingerprint: 'hmac:x' },
            other: null,
            currentKey: 'value',
            otherKey: 'value-other',
          },
        },
      ],
    });
    const failure = await failureOf(h);
    expect(failure.type).toBe(ErrorTypes.clusterStepWithoutRotation);
    expect(failure.message).toContain('clusterBatchWorkflow runs only as a child of a rotation');
    expect(activitiesOf(id)).toEqual([]);
  });
});

describe('separation of duties', () => {
  it('rejects the requester approving their own rotation, naming the rule; someone else may', async () => {
    const playbook = testPlaybook(paymentsStore(`apps/payments/sod-${randomUUID().slice(0, 8)}`), {
      approval: { beforeRevoke: true },
    });
    const h = await start({ playbook, playbookFile: 'playbooks/payments/sod.yaml', requestedBy: 'alice@laptop' });
    // The status query exists once the playbook is validated (an activity); until then queries fail.
    await tw.run(() => waitForPhase(h, 'approval').catch(() => waitForPhase(h, 'approval')));
    const rejected = await tw
      .run(() => h.executeUpdate(approveUpdate, { args: [{ by: 'alice@other-host' }] }))
      .then(
        () => undefined,
        (e: Error) => e.cause,
      );
    expect(rejected).toBeInstanceOf(ApplicationFailure);
    expect((rejected as ApplicationFailure).type).toBe(WorkflowErrorTypes.selfApproval);
    expect((rejected as ApplicationFailure).message).toBe(
      "alice@other-host requested this rotation and cannot approve it: the policy's separationOfDuties rule needs someone else to approve",
    );
    expect(activitiesOf(h.workflowId)).not.toContain('revokeVersion');
    expect(await tw.run(() => h.executeUpdate(approveUpdate, { args: [{ by: 'bob@laptop' }] }))).toBe(
      'approved by bob@laptop',
    );
    await tw.run(() => h.result());
    expect(activitiesOf(h.workflowId)).toContain('revokeVersion');
  });
});
