/**
 * An emergency RotationRequest superseding a running rotation under `identity: kubernetes` (issue
 * 24) against the stack: the management cluster is cluster-a, each person a real apiserver user
 * with a client certificate of their own, rotor's controller the chart's ClusterRole, the worker
 * under a policy whose tenants are namespaces and which takes only what the controller vouches for.
 * A routine rotation of orders' playbook waits at its approval gate (before the point of no return).
 *
 *   alice   orders: requests the routine rotation (verb rotate)
 *   eve     orders: may rotate, holds no emergency verb: her emergency is Denied, nothing touched
 *   mallory payments: emergency there, on a playbook of the same secret name: her own rotation, not orders'
 *   oscar   orders: holds emergency: his request aborts the routine run (it rolls back, naming him
 *           and why), then rotates; across controller "crashes" between abort and start, once each.
 *           Then one meeting a run held inside revoke (the worker reaches Vault through a proxy
 *           that holds revoke's write): no abort, the emergency waits and starts once it rotated.
 *   bob     orders: approves alice's second routine run (verb approve)
 *   pat     orders: holds emergency but is in none of the policy's compromise.declaredBy groups:
 *           her compromised request is Denied before it aborts anything
 *
 * The routine run (Temporal's description, its status, how many aborts its history holds, the
 * rotation id's runs) and orders' Vault entry are compared before and after each refusal; oscar's
 * supersede shows the same comparison catches a change.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationKeys } from '../../adapters/controller-attestation';
import { loadKeyring } from '../../adapters/keys';
import { rotorResources } from '../../adapters/kubernetes/rotor-resources';
import { rotationWorkflowId } from '../../core/ids';
import { resourceGroup } from '../../core/resources';
import { applyRotorResources } from '../../dev/local-stack/kube/rotor-resources';
import { startController } from '../../workers/controller/controller';
import type { Controller } from '../../workers/controller/controller';
import { reconcileRequest, rootMessage } from '../../workers/controller/requests';
import type { ControllerDeps } from '../../workers/controller/deps';
import { statusQuery } from '../../workflows/definitions';
import { freshNamespace, kubeconfigFor } from '../helpers/kube';
import {
  apiRefusal,
  createRotorObject,
  grant,
  kubeUser,
  namespaceTenantsPolicy,
  readRotorObject,
  waitForCondition,
} from '../helpers/kube-users';
import { startKubeController } from '../helpers/kube-controller';
import type { KubeController } from '../helpers/kube-controller';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { holdProxy } from '../helpers/hold-proxy';
import type { HoldProxy } from '../helpers/hold-proxy';
import { outcomeOf, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const cluster = 'cluster-a';
const admin = kubeconfigFor(cluster);
const hex = randomBytes(4).toString('hex');
const [alice, bob, eve, mallory, oscar, pat] = ['alice', 'bob', 'eve', 'mallory', 'oscar', 'pat'].map(
  (n) => `${n}-${hex}`,
) as [string, string, string, string, string, string];
const scratch = mkdtempSync(join(tmpdir(), 'rotor-kube-supersede-'));
const secret = `supersede-${hex}`;
const fingerprintKeys = loadKeyring('ROTOR_FINGERPRINT_KEY', env);

let orders: string;
let payments: string;
const kc: Record<string, KubeConfig> = {};
let tw: TestWorker;
let controller: Controller;
let identity: KubeController['identity'] | undefined;
let store: TestStore;
/** The worker's way to Vault: it can hold back the answer to revoke's write. */
let vaultProxy: HoldProxy;
let storeBefore: StoreSnapshot;
/** The routine rotation alice requested: the run in the emergency's way. */
let routine: { workflowId: string; runId: string };

const playbookSpec = (s: TestStore) => ({
  secret: { name: secret, store: s.store },
  credential: { kind: 'random', length: 32 },
  approval: { beforeRevoke: true },
});

/** How many aborts the run's history took (accepted updates named abortUpdate). */
async function abortsOf(runId: string): Promise<number> {
  const history = await tw.client.workflow.getHandle(routine.workflowId, runId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'abortUpdate',
  ).length;
}

/** Everything of orders' rotation an emergency could change: the routine run, the id's runs, the Vault entry. */
async function ordersWorld() {
  const h = tw.client.workflow.getHandle(routine.workflowId, routine.runId);
  const { count } = await tw.client.workflow.count(`WorkflowId = '${routine.workflowId}'`);
  return {
    run: (await h.describe()).status.name,
    status: await h.query(statusQuery),
    aborts: await abortsOf(routine.runId),
    runs: count,
    store: await store.snapshot(),
  };
}

beforeAll(async () => {
  await applyRotorResources(admin);
  orders = await freshNamespace(admin, 'crd-supersede');
  payments = await freshNamespace(admin, 'crd-supersede-pay');
  for (const name of [alice, bob, eve, mallory, oscar, pat]) kc[name] = await kubeUser(cluster, name);
  const objects = (resources: string[], verbs: string[]) => ({ apiGroups: [resourceGroup], resources, verbs });
  const verb = (v: string) => objects(['rotationplaybooks'], [v]);
  const author = objects(['rotationplaybooks', 'rotationrequests'], ['get', 'list', 'create']);
  await grant(admin, orders, alice, [author, verb('rotate')]);
  await grant(admin, orders, eve, [author, verb('rotate')]);
  await grant(admin, orders, bob, [objects(['rotationapprovals'], ['get', 'list', 'create']), verb('approve')]);
  await grant(admin, orders, oscar, [author, verb('emergency')]);
  await grant(admin, orders, pat, [author, verb('emergency')]);
  await grant(admin, payments, mallory, [author, verb('rotate'), verb('emergency')]);
  vaultProxy = await holdProxy(env['VAULT_ADDR'] ?? '');
  ({ tw, controller, identity } = await startKubeController({
    env: { ...env, VAULT_ADDR: vaultProxy.url },
    admin,
    cluster,
    scratch,
    policy: namespaceTenantsPolicy(
      {
        orders: { namespace: orders, pathPrefix: `crd/supersede-${hex}` },
        payments: { namespace: payments, pathPrefix: `crd/supersede-pay-${hex}` },
      },
      // Only the security group may declare a compromise: pat may not, though she holds emergency.
      { identity: 'kubernetes', groups: { security: [oscar, mallory] }, compromise: { declaredBy: ['security'] } },
    ),
    // The controller gets the worker's policy, as workers/controller/from-env.ts gives it.
    scheduling: true,
    controllerUser: `rotor-controller-${hex}`,
    namespaces: [orders, payments],
    fingerprintKeys,
  }));
  store = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `crd/supersede-${hex}/`);
  storeBefore = await store.snapshot();
  await createRotorObject(kc[alice]!, 'rotationplaybooks', orders, 'db', playbookSpec(store));
  await createRotorObject(kc[alice]!, 'rotationrequests', orders, 'routine', {
    playbookRef: 'db',
    reason: 'quarterly',
    requestedBy: alice,
  });
  const accepted = await waitForCondition(admin, 'rotationrequests', orders, 'routine', ['Accepted']);
  routine = { workflowId: accepted.obj.status?.workflowId ?? '', runId: accepted.obj.status?.runId ?? '' };
  await waitForPhase(tw.client.workflow.getHandle(routine.workflowId, routine.runId), 'approval', 90_000);
}, 180_000);

afterAll(async () => {
  await controller?.stop();
  await tw?.close();
  const core = admin.makeApiClient(CoreV1Api);
  for (const ns of [orders, payments]) if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await identity?.remove();
  await vaultProxy?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('an emergency RotationRequest meeting a running rotation', () => {
  it('is Denied without the emergency verb, and leaves the running rotation untouched', async () => {
    const before = await ordersWorld();
    expect(before).toMatchObject({ run: 'RUNNING', aborts: 0, status: { awaitingApproval: true } });
    await createRotorObject(kc[eve]!, 'rotationrequests', orders, 'eve-em', {
      playbookRef: 'db',
      mode: 'emergency',
      compromised: true,
      reason: 'leaked',
      requestedBy: eve,
    });
    const { obj, condition } = await waitForCondition(admin, 'rotationrequests', orders, 'eve-em', ['Denied']);
    expect(condition.reason).toBe('MissingVerb');
    expect(condition.message).toContain(`user ${eve} may not emergency rotationplaybooks/db`);
    expect(obj.status?.superseded).toBeUndefined();
    await controller.settled();
    expect(await ordersWorld()).toEqual(before);
  });

  it('is Denied when its requester may not declare a compromise, before it aborts anything', async () => {
    const before = await ordersWorld();
    await createRotorObject(kc[pat]!, 'rotationrequests', orders, 'pat-em', {
      playbookRef: 'db',
      mode: 'emergency',
      compromised: true,
      reason: 'leaked',
      requestedBy: pat,
    });
    const { obj, condition } = await waitForCondition(admin, 'rotationrequests', orders, 'pat-em', ['Denied']);
    expect(condition.reason).toBe('CompromiseNotDeclarable');
    expect(condition.message).toBe(
      `emergency.compromised: ${pat} may not declare a compromise: only members of 'security' may (policy rule compromise.declaredBy; to allow it an admin would add ${pat} to one of compromise.declaredBy's groups (or have a member request it; an emergency without --compromised needs no such group))`,
    );
    expect(obj.status?.superseded).toBeUndefined();
    await controller.settled();
    expect(await ordersWorld()).toEqual(before);
  });

  it("cannot supersede another namespace's rotation: mallory's emergency of the same secret name is her own", async () => {
    const before = await ordersWorld();
    const refused = await apiRefusal(
      createRotorObject(kc[mallory]!, 'rotationrequests', orders, 'mallory', {
        playbookRef: 'db',
        mode: 'emergency',
        requestedBy: mallory,
      }),
    );
    expect(refused.code).toBe(403);
    const hers = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `crd/supersede-pay-${hex}/`);
    await createRotorObject(kc[mallory]!, 'rotationplaybooks', payments, 'db', playbookSpec(hers));
    await createRotorObject(kc[mallory]!, 'rotationrequests', payments, 'em', {
      playbookRef: 'db',
      mode: 'emergency',
      compromised: true,
      reason: 'leaked',
      requestedBy: mallory,
    });
    const accepted = await waitForCondition(admin, 'rotationrequests', payments, 'em', ['Accepted', 'Denied']);
    expect(accepted.condition.type).toBe('Accepted');
    expect(accepted.obj.status?.workflowId).toBe(rotationWorkflowId(secret, payments));
    expect(accepted.obj.status?.superseded).toBeUndefined();
    const done = await waitForCondition(
      admin,
      'rotationrequests',
      payments,
      'em',
      ['Succeeded', 'RolledBack'],
      120_000,
    );
    expect(done.condition.type).toBe('Succeeded');
    expect(await ordersWorld()).toEqual(before);
  }, 180_000);

  it('aborts it with the verb (rolled back, naming who and why), then rotates, once each across controller crashes', async () => {
    const before = await ordersWorld();
    // The controller is down: each pass below is what a controller that crashed right after it would leave.
    await controller.stop();
    await createRotorObject(kc[oscar]!, 'rotationrequests', orders, 'em', {
      playbookRef: 'db',
      mode: 'emergency',
      compromised: true,
      reason: 'key leaked',
      requestedBy: oscar,
    });
    const deps: ControllerDeps = {
      resources: rotorResources(identity!.kubeconfig),
      client: tw.client,
      taskQueue: tw.taskQueue,
      attestationKeys: attestationKeys(fingerprintKeys),
    };
    const read = () => readRotorObject(admin, 'rotationrequests', orders, 'em');
    const fresh = await read();

    // Pass 1 aborts the routine run and records it.
    await reconcileRequest(deps, fresh);
    const first = await read();
    expect(first.status?.superseded).toEqual({ ...routine, how: 'Aborted', outcome: 'Running' });
    expect(first.status?.conditions?.find((c) => c.type === 'Superseded')).toMatchObject({
      status: 'False',
      reason: 'Aborting',
    });
    // A pass that lost that status write (crashed between abort and write) sends the abort again
    // under the same update id; a pass after it sees the record. Neither aborts a second time.
    // The routine run may already have rolled back by then (an unloaded worker is quick): such a
    // pass starts the emergency, so it must not write either, or pass 3 below has nothing to show.
    const crashing = {
      ...deps,
      resources: { ...deps.resources, patchStatus: () => Promise.reject(new Error('crash')) },
    };
    await reconcileRequest(deps, fresh).catch(() => undefined);
    await reconcileRequest(crashing, await read()).catch(() => undefined);
    const superseded = tw.client.workflow.getHandle(routine.workflowId, routine.runId);
    const ended = await outcomeOf(superseded);
    expect(ended.ok).toBe(false);
    expect(ended.ok ? '' : rootMessage(ended.error)).toContain(
      `aborted by ${oscar}: superseded by emergency request em of ${oscar}: key leaked`,
    );
    expect(await abortsOf(routine.runId)).toBe(1);

    // Pass 3 starts the emergency (or adopts the one started above) and crashes before writing so:
    // the status still says nothing of it.
    await expect(reconcileRequest(crashing, await read())).rejects.toThrow('crash');
    expect((await read()).status?.workflowId).toBeUndefined();
    const { count: afterStart } = await tw.client.workflow.count(`WorkflowId = '${routine.workflowId}'`);
    expect(afterStart).toBe(before.runs + 1);

    // The restarted controller adopts that run: no second start, no second abort.
    controller = startController({
      kubeconfig: identity!.kubeconfig,
      client: tw.client,
      taskQueue: tw.taskQueue,
      namespaces: [orders, payments],
      resyncMs: 300,
      fingerprintKeys,
    });
    const accepted = await waitForCondition(admin, 'rotationrequests', orders, 'em', ['Accepted', 'Denied']);
    expect(accepted.condition.type).toBe('Accepted');
    expect(accepted.condition.message).toContain(`after run ${routine.runId} ended RolledBack`);
    expect(accepted.obj.status?.superseded).toEqual({ ...routine, how: 'Aborted', outcome: 'RolledBack' });
    expect(accepted.obj.status?.conditions?.find((c) => c.type === 'Superseded')).toMatchObject({
      status: 'True',
      reason: 'AbortedAndRolledBack',
      message: expect.stringContaining(`superseded by emergency request em of ${oscar}: key leaked`) as unknown,
    });
    const done = await waitForCondition(admin, 'rotationrequests', orders, 'em', ['Succeeded', 'RolledBack'], 120_000);
    expect(done.condition.type).toBe('Succeeded');
    const emergency = await tw.client.workflow
      .getHandle(routine.workflowId, accepted.obj.status?.runId)
      .query(statusQuery);
    expect(emergency).toMatchObject({
      phase: 'rotated',
      trigger: 'emergency',
      requestedBy: oscar,
      reason: 'key leaked',
    });

    // alice's request says her run rolled back, and why.
    const hers = await waitForCondition(admin, 'rotationrequests', orders, 'routine', ['RolledBack'], 60_000);
    expect(hers.condition.message).toContain(`superseded by emergency request em of ${oscar}`);
    // Exactly two runs of the id (the routine, the emergency) and one new version, nothing pending.
    const after = await ordersWorld();
    expect(after.runs).toBe(before.runs + 1);
    expect(after.store).toMatchObject({ previousVersion: storeBefore.currentVersion, pendingVersion: null });
    expect(after.store.currentValue).not.toBe(storeBefore.currentValue);
    // The comparison the refusals relied on catches this change of the run and the store.
    expect(after).not.toEqual(before);
    expect(after.run).toBe('FAILED');
    expect(after.aborts).toBe(1);
  }, 300_000);

  it('waits for a run past the point of no return instead of aborting it, and starts once it rotated', async () => {
    await createRotorObject(kc[alice]!, 'rotationrequests', orders, 'routine-2', {
      playbookRef: 'db',
      requestedBy: alice,
    });
    const accepted = await waitForCondition(admin, 'rotationrequests', orders, 'routine-2', ['Accepted']);
    routine = { workflowId: accepted.obj.status?.workflowId ?? '', runId: accepted.obj.status?.runId ?? '' };
    const run = tw.client.workflow.getHandle(routine.workflowId, routine.runId);
    await waitForPhase(run, 'approval', 90_000);
    const revokeHeld = vaultProxy.holdResponseTo(/"rotor-revoked-versions"/);
    await createRotorObject(kc[bob]!, 'rotationapprovals', orders, 'go-2', {
      requestRef: 'routine-2',
      action: 'approve',
      approvedBy: bob,
    });
    await revokeHeld;
    expect(await run.query(statusQuery)).toMatchObject({ phase: 'revoke', pointOfNoReturn: true });
    const before = await ordersWorld();

    await createRotorObject(kc[oscar]!, 'rotationrequests', orders, 'em-2', {
      playbookRef: 'db',
      mode: 'emergency',
      compromised: true,
      reason: 'leaked again',
      requestedBy: oscar,
    });
    let waiting = await readRotorObject(admin, 'rotationrequests', orders, 'em-2');
    for (let i = 0; i < 150 && !waiting.status?.superseded; i++) {
      await new Promise((r) => setTimeout(r, 200));
      waiting = await readRotorObject(admin, 'rotationrequests', orders, 'em-2');
    }
    expect(waiting.status?.superseded).toEqual({ ...routine, how: 'WaitedPastPointOfNoReturn', outcome: 'Running' });
    expect(waiting.status?.conditions?.find((c) => c.type === 'Superseded')).toMatchObject({
      status: 'False',
      reason: 'WaitingPastPointOfNoReturn',
      message: expect.stringContaining('phase revoke') as unknown,
    });
    // Passes go on while it waits: no abort reaches the run, nothing starts.
    await controller.settled();
    await controller.settled();
    expect((await readRotorObject(admin, 'rotationrequests', orders, 'em-2')).status?.workflowId).toBeUndefined();
    expect(await ordersWorld()).toEqual(before);

    vaultProxy.release();
    const started = await waitForCondition(admin, 'rotationrequests', orders, 'em-2', ['Accepted', 'Denied'], 90_000);
    expect(started.condition.type).toBe('Accepted');
    expect(started.obj.status?.superseded).toEqual({
      ...routine,
      how: 'WaitedPastPointOfNoReturn',
      outcome: 'Rotated',
    });
    expect(started.obj.status?.conditions?.find((c) => c.type === 'Superseded')).toMatchObject({
      status: 'True',
      reason: 'FinishedPastPointOfNoReturn',
    });
    const done = await waitForCondition(
      admin,
      'rotationrequests',
      orders,
      'em-2',
      ['Succeeded', 'RolledBack'],
      120_000,
    );
    expect(done.condition.type).toBe('Succeeded');
    const after = await ordersWorld();
    expect(after).toMatchObject({ run: 'COMPLETED', aborts: 0, runs: before.runs + 1 });
    expect((await waitForCondition(admin, 'rotationrequests', orders, 'routine-2', ['Succeeded'])).condition.type).toBe(
      'Succeeded',
    );
  }, 300_000);
});
