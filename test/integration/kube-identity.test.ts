/**
 * Issue 24, `identity: kubernetes`, from an attacker's position: a Temporal client holding rotor's
 * codec key (what every CLI holds) against a worker whose policy takes requesters and approvers
 * from Kubernetes only. It starts rotations with any requester it likes, approves, aborts, skips
 * the soak and retries with any `--by`, copies the controller's attestations from histories onto
 * other rotations or sends them again, and starts a schedule's rotation off its times (its input
 * copied, a launcher of its own, the schedule triggered, backfilled or its spec changed). Each is
 * refused and the stores and runs are compared before and after.
 * Beside it, RBAC granted to a group: the SubjectAccessReview counts the groups the admission
 * policy checked, and a group the user is not in is refused by the apiserver.
 *
 *   alice  orders: requests (verb rotate, granted to her user)
 *   bob    orders: approves (verb approve, granted to his user)
 *   carol  orders: requests only through her group's RoleBinding (group rotor-requesters-<hex>)
 *   dave   orders: may create objects, holds no verb, and claims carol's group
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadKeyring } from '../../adapters/keys';
import { deleteSchedule } from '../../adapters/temporal/rotation-schedule';
import { playbookLauncherId, playbookScheduleId, rotationWorkflowId } from '../../core/ids';
import { playbookSchema } from '../../core/playbook/schema';
import type { Playbook } from '../../core/playbook/schema';
import { resourceGroup } from '../../core/resources';
import type { ApprovalAction } from '../../core/resources';
import type { OperatorAction, RotationInput } from '../../core/status';
import { applyRotorResources } from '../../dev/local-stack/kube/rotor-resources';
import type { Controller } from '../../workers/controller/controller';
import {
  abortUpdate,
  approveUpdate,
  pauseSignal,
  retrySignal,
  skipSoakSignal,
  statusQuery,
} from '../../workflows/definitions';
import { runRotor } from '../helpers/cli';
import { startKubeController } from '../helpers/kube-controller';
import type { KubeController } from '../helpers/kube-controller';
import { rejection } from '../helpers/rejection';
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
import { recordRotation } from '../helpers/history-recorder';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { until } from '../helpers/until';
import { failureOfRun, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const cluster = 'cluster-a';
const admin = kubeconfigFor(cluster);
const hex = randomBytes(4).toString('hex');
const user = (name: string) => `${name}-${hex}`;
const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map(user) as [string, string, string, string];
const requesters = `rotor-requesters-${hex}`;
const scratch = mkdtempSync(join(tmpdir(), 'rotor-kube-identity-'));
const prefix = `crd/ident-${hex}`;

let orders: string;
const kc: Record<string, KubeConfig> = {};
let tw: TestWorker;
let controller: Controller;
let controllerIdentity: KubeController['identity'] | undefined;
/** alice's playbook (one), carol's (two), and a third the attacker aims copies at. */
const stores: Record<'one' | 'two' | 'three' | 'four', TestStore> = {} as never;
const secretOf = (p: keyof typeof stores) => `ident-${p}-${hex}`;
/** 'four' rotates on its schedule, with no approval gate; the others on request, approved. */
const spec = (p: keyof typeof stores) => ({
  secret: { name: secretOf(p), store: stores[p].store },
  credential: { kind: 'random', length: 32 },
  ...(p === 'four' ? { schedule: { every: '90d' } } : { approval: { beforeRevoke: true } }),
});
const playbookOf = (p: keyof typeof stores): Playbook =>
  playbookSchema.parse({ apiVersion: 'rotor.dev/v1', kind: 'RotationPlaybook', metadata: { name: p }, spec: spec(p) });

/** Every store as it stands: the refusals must leave all of them alone. */
async function snapshots(): Promise<Record<string, StoreSnapshot>> {
  const out: Record<string, StoreSnapshot> = {};
  for (const [k, s] of Object.entries(stores)) out[k] = await s.snapshot();
  return out;
}

/** The payloads' first value, decoded with rotor's codec key (the attacker holds it). */
const decoded = <T>(payloads: Payload[] | null | undefined) =>
  decodeFromPayloadsAtIndex<T>(tw.client.options.loadedDataConverter, 0, payloads);

/** The input a run was started with, as its history holds it. */
async function startInput(h: WorkflowHandle): Promise<RotationInput> {
  const history = await h.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return decoded<RotationInput>(started?.input?.payloads);
}

/** Starts `input` under `workflowId` from the attacker's client and returns the run's refusal. */
async function forgedStart(workflowId: string, input: RotationInput) {
  const h = await tw.client.workflow.start('rotationWorkflow', { taskQueue: tw.taskQueue, workflowId, args: [input] });
  return failureOfRun(tw, h);
}

/** `who`'s RotationApproval `name` of `action` on alice's rotate-one, once the controller took it or denied it. */
async function decides(who: string, name: string, action: ApprovalAction) {
  await createRotorObject(kc[who]!, 'rotationapprovals', orders, name, {
    requestRef: 'rotate-one',
    action,
    approvedBy: who,
  });
  return waitForCondition(admin, 'rotationapprovals', orders, name, ['Accepted', 'Denied'], 90_000);
}

/**
 * The refusal of the rotation the schedule `scheduleId` starts next, after `act` (a trigger, a
 * backfill, a changed spec): the schedule's next launcher fails with its child's failure.
 */
async function refusedLaunch(scheduleId: string, act: () => Promise<unknown>, at: (scheduledAt: Date) => boolean) {
  const schedule = tw.client.schedule.getHandle(scheduleId);
  const taken = (await schedule.describe()).info.recentActions.length;
  await act();
  // The first action after `act` for a time `act` asked for: one the schedule took before it
  // was paused may still be recorded after `taken` was counted.
  const launcher = await until(
    `the next launcher of ${scheduleId}`,
    async () =>
      (await schedule.describe()).info.recentActions.slice(taken).find((a) => at(a.scheduledAt))?.action.workflow,
    90_000,
  );
  const failure = await failureOfRun(
    tw,
    tw.client.workflow.getHandle(launcher.workflowId, launcher.firstExecutionRunId),
  );
  expect(failure.type).toBe('PolicyRefused');
  return failure;
}

/** The controller's `signal` to the run, as its history holds it (what the attacker copies). */
async function vouchedSignal(h: WorkflowHandle, signal: string): Promise<OperatorAction> {
  const history = await h.fetchHistory();
  const signals = await Promise.all(
    (history.events ?? []).flatMap((e) => {
      const a = e.workflowExecutionSignaledEventAttributes;
      return a?.signalName === signal ? [decoded<OperatorAction>(a.input?.payloads)] : [];
    }),
  );
  const vouched = signals.find((op) => op.attestation);
  if (!vouched) throw new Error(`no ${signal} from rotor's controller in ${h.workflowId}'s history`);
  return vouched;
}

/** How many operator actions the run has had checked (its verifyOperatorAction activities that completed). */
async function actionsChecked(h: WorkflowHandle): Promise<number> {
  const events = (await h.fetchHistory()).events ?? [];
  const checks = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyOperatorAction')
      .map((e) => String(e.eventId)),
  );
  return events.filter((e) => checks.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId))).length;
}

const kubeconfigEnv = (name: string) => {
  const file = join(scratch, `${name}.kubeconfig`);
  writeFileSync(file, kc[name]!.exportConfig(), { mode: 0o600 });
  return { ...env, KUBECONFIG: file };
};

beforeAll(async () => {
  await applyRotorResources(admin);
  orders = await freshNamespace(admin, 'crd-ident');
  for (const name of [alice, bob, dave]) kc[name] = await kubeUser(cluster, name);
  kc[carol] = await kubeUser(cluster, carol, requesters);
  const objects = (resources: string[], verbs: string[]) => ({ apiGroups: [resourceGroup], resources, verbs });
  const verb = (v: string) => objects(['rotationplaybooks'], [v]);
  const author = objects(['rotationplaybooks', 'rotationrequests', 'rotationapprovals'], ['get', 'list', 'create']);
  await grant(admin, orders, alice, [author, verb('rotate')]);
  await grant(admin, orders, bob, [author, verb('approve')]);
  await grant(admin, orders, dave, [author]);
  // carol's user holds nothing: her group does.
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: orders,
    body: { metadata: { name: requesters }, rules: [author, verb('rotate')] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: orders,
    body: {
      metadata: { name: requesters },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: requesters },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: requesters }],
    },
  });

  ({
    tw,
    controller,
    identity: controllerIdentity,
  } = await startKubeController({
    env,
    admin,
    cluster,
    scratch,
    policy: namespaceTenantsPolicy(
      { orders: { namespace: orders, pathPrefix: prefix } },
      { separationOfDuties: true, identity: 'kubernetes' },
    ),
    controllerUser: user('rotor-controller'),
    namespaces: [orders],
    scheduling: true,
    fingerprintKeys: loadKeyring('ROTOR_FINGERPRINT_KEY', env),
  }));
  for (const p of ['one', 'two', 'three', 'four'] as const) {
    stores[p] = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `${prefix}/`);
    await createRotorObject(kc[alice]!, 'rotationplaybooks', orders, p, spec(p));
  }
}, 120_000);

afterAll(async () => {
  await controller?.stop();
  // The schedules outlive the controller: none may go on starting launchers on a queue nobody polls.
  for (const p of tw && orders ? ['four', 'five'] : [])
    await deleteSchedule(tw.client, playbookScheduleId(orders, p)).catch(() => undefined);
  for (const p of ['one', 'two'] as const)
    await tw?.client.workflow
      .getHandle(rotationWorkflowId(secretOf(p), orders))
      .terminate('test cleanup')
      .catch(() => undefined);
  await tw?.close();
  if (orders)
    await admin
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: orders })
      .catch(() => undefined);
  await controllerIdentity?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

/** The runs started through the controller, shared by the tests below in order. */
const runs: { one?: WorkflowHandle; two?: WorkflowHandle } = {};

describe('starts that did not come through the controller', () => {
  it('refuses a start with any requester, from a Temporal client or rotor rotate, and changes nothing', async () => {
    const before = await snapshots();
    const input: RotationInput = {
      playbook: playbookOf('one'),
      playbookFile: `rotationplaybooks/${orders}/one`,
      trigger: 'emergency',
      emergency: { compromised: true },
      requestedBy: alice,
      namespace: orders,
    };
    const refused = await forgedStart(rotationWorkflowId(secretOf('one'), orders), input);
    expect(refused.type).toBe('PolicyRefused');
    expect(refused.message).toContain("not started through rotor's controller");
    expect(refused.message).toContain('rotor request <playbook>');

    // The CLI, with its own allow-all policy file and --requested-by: the worker's policy decides.
    const file = join(scratch, 'one.yaml');
    writeFileSync(file, stringify(playbookOf('one')));
    const cli = await runRotor(
      { ...env, ROTOR_TASK_QUEUE: tw.taskQueue },
      'rotate',
      file,
      '--requested-by',
      alice,
      '--wait',
    );
    expect(cli.code).not.toBe(0);
    expect(cli.stdout + cli.stderr).toContain('rotor request <playbook>');
    expect(await snapshots()).toEqual(before);
  }, 120_000);
});

describe('groups in the SubjectAccessReview', () => {
  it('lets a user granted only through a group request, with the groups the apiserver checked', async () => {
    // Without her groups the review sees only her user name, which holds nothing.
    await createRotorObject(kc[carol]!, 'rotationrequests', orders, 'no-groups', {
      playbookRef: 'two',
      requestedBy: carol,
    });
    const denied = await waitForCondition(admin, 'rotationrequests', orders, 'no-groups', ['Denied']);
    expect(denied.condition.reason).toBe('MissingVerb');

    // rotor request fills in her groups from a SelfSubjectReview; the group's verb now counts.
    const asked = await runRotor(kubeconfigEnv(carol), 'request', 'two', '-n', orders, '--context', cluster, '--json');
    const line = JSON.parse(asked.stdout.trim()) as { name: string; condition: string; message: string };
    expect(line.condition).toBe('Accepted');
    expect(asked.code).toBe(0);
    const { obj } = await waitForCondition(admin, 'rotationrequests', orders, line.name, ['Accepted']);
    expect(obj.spec).toMatchObject({ requestedBy: carol });
    expect((obj.spec as { requestedGroups?: string[] }).requestedGroups).toContain(requesters);
    runs.two = tw.client.workflow.getHandle(obj.status?.workflowId ?? '', obj.status?.runId);
  }, 120_000);

  it('refuses, at the apiserver, a request claiming a group its user is not in', async () => {
    const forged = await apiRefusal(
      createRotorObject(kc[dave]!, 'rotationrequests', orders, 'forged-group', {
        playbookRef: 'three',
        requestedBy: dave,
        requestedGroups: [requesters, 'system:authenticated'],
      }),
    );
    expect(forged.code).toBe(403);
    expect(forged.message).toContain('spec.requestedGroups must be exactly your own groups');
  });
});

describe('operator actions and copied attestations', () => {
  it('refuses forged approve, abort, skip-soak and retry, and copies of the controller’s retry and pause; nothing changes', async () => {
    await createRotorObject(kc[alice]!, 'rotationrequests', orders, 'rotate-one', {
      playbookRef: 'one',
      requestedBy: alice,
    });
    const { obj } = await waitForCondition(admin, 'rotationrequests', orders, 'rotate-one', ['Accepted']);
    const h = tw.client.workflow.getHandle(obj.status?.workflowId ?? '', obj.status?.runId);
    runs.one = h;
    await waitForPhase(h, 'approval');
    // carol's rotation of two (requested above) writes its pending version on the way to its own
    // approval gate: the snapshot is taken once it waits there, so only the attack could change it.
    await waitForPhase(runs.two!, 'approval');
    const before = { stores: await snapshots(), status: await h.query(statusQuery) };
    expect(before.status.awaitingApproval).toBe(true);

    const forged: OperatorAction = { by: bob, reason: 'forged' };
    const approve = await rejection(h.executeUpdate(approveUpdate, { args: [forged] }));
    expect(approve.type).toBe('NotFromController');
    expect(approve.message).toContain(`approve by ${bob} refused, nothing was changed`);
    expect(approve.message).toContain('--via-kube');
    // A made-up attestation fares no better.
    const madeUp = { ...forged, attestation: { keyId: 'default', issuedAt: Date.now(), mac: 'AAAA' } };
    expect((await rejection(h.executeUpdate(approveUpdate, { args: [madeUp] }))).type).toBe('NotFromController');
    expect((await rejection(h.executeUpdate(abortUpdate, { args: [{ by: alice }] }))).type).toBe('NotFromController');
    await h.signal(skipSoakSignal, forged);
    await h.signal(retrySignal, forged);
    // Both signals were looked at, refused and counted.
    const deadline = Date.now() + 60_000;
    while ((await h.query(statusQuery)).refusedSignals?.count !== 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    const after = await h.query(statusQuery);
    // Each is checked by its own activity: either may be refused first.
    expect(after.refusedSignals?.last.map((s) => s.signal).sort()).toEqual(['retrySignal', 'skipSoakSignal']);
    expect(after).toEqual({ ...before.status, refusedSignals: after.refusedSignals });
    expect(await snapshots()).toEqual(before.stores);

    // bob's retry through the apiserver is taken (harmless at the gate); the attacker reads it from
    // the history and sends it again within its 10 minutes: refused, counted, nothing else changes.
    const checkedBefore = await actionsChecked(h);
    const sent = await decides(bob, 'bob-retry', 'retry');
    expect(sent.condition.type).toBe('Accepted');
    await until('the retry checked', async () => (await actionsChecked(h)) > checkedBefore || undefined, 60_000);
    const taken = await h.query(statusQuery);
    expect(taken.refusedSignals?.count).toBe(2);
    const bobsRetry = await vouchedSignal(h, retrySignal.name);
    expect(bobsRetry?.attestation?.mac).toBeTruthy();
    await h.signal(retrySignal, bobsRetry);
    await until(
      'the copy refused',
      async () => (await h.query(statusQuery)).refusedSignals?.count === 3 || undefined,
      60_000,
    );
    const replayed = await h.query(statusQuery);
    expect(replayed).toEqual({ ...taken, refusedSignals: replayed.refusedSignals });
    expect(await snapshots()).toEqual(before.stores);

    // alice (verb rotate) pauses her rotation with `rotor pause --via-kube` (a RotationApproval, as
    // her kubeconfig's user) and resumes it the same way; the pause's copy, sent again from the
    // history, is refused: the rotation stays unpaused.
    const status = () => h.query(statusQuery);
    const viaKube = async (action: 'pause' | 'resume') => {
      const where = ['-n', orders, '--context', cluster, '--json'];
      const cli = await runRotor(kubeconfigEnv(alice), action, 'rotate-one', '--via-kube', '--reason', 'cli', ...where);
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      const line = JSON.parse(cli.stdout.trim()) as { name: string; condition: string };
      expect(line.condition).toBe('Accepted');
      const { obj } = await waitForCondition(admin, 'rotationapprovals', orders, line.name, ['Accepted']);
      expect(obj.spec).toMatchObject({ requestRef: 'rotate-one', action, approvedBy: alice });
    };
    await viaKube('pause');
    await until('paused', async () => (await status()).paused || undefined, 60_000);
    await viaKube('resume');
    await until('resumed', async () => !(await status()).paused || undefined, 60_000);
    const resumed = await status();
    await h.signal(pauseSignal, await vouchedSignal(h, pauseSignal.name));
    await until('the copy refused', async () => (await status()).refusedSignals?.count === 4 || undefined, 60_000);
    const unpaused = await status();
    expect(unpaused.paused).toBeFalsy();
    expect(unpaused).toEqual({ ...resumed, refusedSignals: unpaused.refusedSignals });
    expect(await snapshots()).toEqual(before.stores);
  }, 300_000);

  it("refuses the controller's attestations copied onto another rotation", async () => {
    const before = await snapshots();
    const one = await startInput(runs.one!);
    expect(one.attestation?.mac).toBeTruthy();
    // The request's attestation under another rotation id, with its own input...
    const sameInput = await forgedStart(rotationWorkflowId(`${secretOf('one')}-copy`), one);
    expect(sameInput.type).toBe('PolicyRefused');
    expect(sameInput.message).toContain('does not vouch for this rotation');
    // ...and with another playbook of the same namespace.
    const otherPlaybook = await forgedStart(rotationWorkflowId(secretOf('three'), orders), {
      ...one,
      playbook: playbookOf('three'),
    });
    expect(otherPlaybook.message).toContain('does not vouch for this rotation');

    // bob approves alice's rotation through the apiserver; his attestation, copied from its history
    // onto carol's rotation (at the same gate), is refused there.
    const approved = await decides(bob, 'bob-one', 'approve');
    expect(approved.condition.type).toBe('Accepted');
    // Accepted updates: the forged ones above (rejected by their handler) and bob's, which carries an attestation.
    const history = await runs.one!.fetchHistory();
    const updates = await Promise.all(
      (history.events ?? []).flatMap((e) => {
        const args = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads;
        return args ? [decoded<OperatorAction>(args)] : [];
      }),
    );
    const bobs = updates.find((u) => u.attestation) ?? { by: 'none' };
    expect(bobs.attestation?.mac).toBeTruthy();
    await waitForPhase(runs.two!, 'approval');
    const two = await runs.two!.query(statusQuery);
    const copied = await rejection(runs.two!.executeUpdate(approveUpdate, { args: [bobs] }));
    expect(copied.type).toBe('NotFromController');
    expect(copied.message).toContain('does not vouch for this action');
    expect(await runs.two!.query(statusQuery)).toEqual(two);
    const now = await snapshots();
    expect({ two: now['two'], three: now['three'] }).toEqual({ two: before['two'], three: before['three'] });

    // The comparison catches a real change: alice's rotation, approved through the controller, rotated.
    const done = await waitForCondition(
      admin,
      'rotationrequests',
      orders,
      'rotate-one',
      ['Succeeded', 'RolledBack'],
      120_000,
    );
    expect(done.condition.type).toBe('Succeeded');
    expect((await snapshots())['one']).not.toEqual(before['one']);
    // The replay fixture of a run under `identity: kubernetes`: started, approved and refused through attestations.
    await recordRotation(runs.one!, 'kube-identity-success', stores.one, {
      runId: (await runs.one!.describe()).runId,
      secrets: [before['one']!.currentValue],
    });

    // Its rotation ended: the same copy under the same id, within the attestation's minutes, is spent.
    const rotated = await snapshots();
    const replayed = await forgedStart(rotationWorkflowId(secretOf('one'), orders), one);
    expect(replayed.type).toBe('PolicyRefused');
    expect(replayed.message).toContain(`its attestation was used already by run ${(await runs.one!.describe()).runId}`);
    expect(await snapshots()).toEqual(rotated);
  }, 300_000);
});

describe("a RotationPlaybook's schedule", () => {
  it('refuses its input copied onto a direct start, a launcher of its own or another playbook, and a trigger off its times', async () => {
    const scheduleId = playbookScheduleId(orders, 'four');
    const { condition } = await waitForCondition(admin, 'rotationplaybooks', orders, 'four', ['Ready'], 60_000);
    expect(condition.reason).toBe('Scheduled');
    const schedule = tw.client.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    const input = (described.action as { args?: RotationInput[] } | undefined)?.args?.[0];
    expect(input?.attestation?.scheduleId).toBe(scheduleId);
    const before = await snapshots();

    // The schedule's own input, started directly: not a child of the schedule's launcher.
    const direct = await forgedStart(rotationWorkflowId(secretOf('four'), orders), input!);
    expect(direct.type).toBe('PolicyRefused');
    expect(direct.message).toContain(`serves only a run started by rotor-schedule-playbook/${orders}/four-`);
    // Its attestation on another playbook's input.
    const other = await forgedStart(rotationWorkflowId(secretOf('three'), orders), {
      ...input!,
      playbook: playbookOf('three'),
    });
    expect(other.message).toContain('does not vouch for this rotation');

    // A launcher of the attacker's, under the schedule's launcher id on rotor's task queue, claiming
    // the schedule in Temporal's own search attributes: the server lets any client set them.
    const launcher = await tw.client.workflow.start('scheduledRotationWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId: `${playbookLauncherId(orders, 'four')}-${new Date().toISOString()}`,
      args: [input!],
      searchAttributes: { TemporalScheduledById: [scheduleId], TemporalScheduledStartTime: [new Date()] },
    });
    expect((await launcher.describe()).searchAttributes).toMatchObject({ TemporalScheduledById: [scheduleId] });
    const ownLauncher = await failureOfRun(tw, launcher);
    expect(ownLauncher.type).toBe('PolicyRefused');
    expect(ownLauncher.message).toContain(`was not started by schedule ${scheduleId}`);

    // The schedule itself, triggered now (by any Temporal client): off its 90-day times.
    // A 90-day schedule takes no time of its own within the test: any action is the trigger's.
    const early = await refusedLaunch(
      scheduleId,
      () => schedule.trigger(),
      () => true,
    );
    expect(early.type).toBe('PolicyRefused');
    expect(early.message).toContain('not at one of its times (every 7776000s, jitter 0s): a trigger or a changed spec');
    expect(await snapshots()).toEqual(before);
  }, 240_000);

  it('rotates at its own times: the comparison above catches a real rotation', async () => {
    // A playbook of its own, every minute: its store changes at the next minute without a trigger.
    const five = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `${prefix}/`);
    const before = await five.snapshot();
    await createRotorObject(kc[alice]!, 'rotationplaybooks', orders, 'five', {
      secret: { name: `ident-five-${hex}`, store: five.store },
      credential: { kind: 'random', length: 32 },
      schedule: { every: '1m' },
    });
    const ended = ['Rotated', 'Skipped', 'RolledBack', 'Failed'];
    const obj = await until(
      "five's scheduled rotation ended",
      async () => {
        const o = await readRotorObject(admin, 'rotationplaybooks', orders, 'five');
        return ended.includes(o.status?.lastRotation?.outcome ?? '') ? o : undefined;
      },
      180_000,
    );
    expect(obj.status?.lastRotation).toMatchObject({ outcome: 'Rotated', trigger: 'schedule' });

    // The attacker pauses the schedule (no more runs at its times) and backfills the time it took
    // last, allowing overlaps: the schedule starts a launcher for that time again, which is refused.
    const scheduleId = playbookScheduleId(orders, 'five');
    const schedule = tw.client.schedule.getHandle(scheduleId);
    await schedule.pause('attacker');
    // Once the schedule has taken the pause (its state says so), no time it fires is pending; a
    // run it took before the pause ends first.
    await until('the schedule paused', async () => (await schedule.describe()).state.paused || undefined, 60_000);
    await until(
      'no scheduled run of five',
      async () => (await schedule.describe()).info.runningActions.length === 0 || undefined,
      120_000,
    );
    const rotated = await five.snapshot();
    expect(rotated).not.toEqual(before);
    const taken = (await schedule.describe()).info.recentActions.at(-1)!.scheduledAt.getTime();
    const again = await refusedLaunch(
      scheduleId,
      () =>
        schedule.backfill({
          start: new Date(taken - 1_000),
          end: new Date(taken + 1_000),
          overlap: ScheduleOverlapPolicy.ALLOW_ALL,
        }),
      (t) => t.getTime() === taken,
    );
    expect(again.message).toContain(`for the same time ${new Date(taken).toISOString()} already`);
    // It changes the schedule's spec to fire half a minute off the playbook's times, keeping rotor's
    // note: the controller puts the spec back at its next pass, so nothing fires off its times (a
    // launch at another time is refused by the launcher itself, as the trigger above shows). Changed
    // well away from :30, so the put-back (a pass every 300 ms here) comes before that time could.
    await until(
      'a moment between :35 and :45',
      () => {
        const sec = new Date().getUTCSeconds();
        return Promise.resolve(sec >= 35 && sec <= 45 ? true : undefined);
      },
      70_000,
    );
    const changedAt = Date.now();
    await schedule.update((prev) => ({
      ...prev,
      spec: { intervals: [{ every: '1m', offset: '30s' }] },
      state: { ...prev.state, paused: false },
    }));
    const restored = await until(
      'the spec put back by the controller',
      async () => {
        const d = await schedule.describe();
        const [interval] = d.spec.intervals ?? [];
        return d.spec.intervals?.length === 1 && interval?.every === 60_000 && (interval.offset ?? 0) === 0
          ? d
          : undefined;
      },
      30_000,
    );
    expect(restored.state.paused).toBe(false);
    expect(
      restored.info.recentActions.filter(
        (a) => a.takenAt.getTime() >= changedAt && a.scheduledAt.getUTCSeconds() === 30,
      ),
    ).toEqual([]);
  }, 300_000);
});
