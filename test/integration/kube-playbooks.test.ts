/**
 * Issue 24 item 1: rotor's controller keeps a Temporal Schedule per RotationPlaybook and writes
 * the playbook's status (Ready, next due, last rotation), from the position of tenant users of
 * the management cluster's apiserver (the stack's cluster-a), each with a client certificate of
 * their own and RBAC in one namespace only. A real worker under a policy whose tenants are the
 * namespaces, and the controller as a user holding only the chart's ClusterRole for it.
 *
 *   ann  pb-orders:   applies and changes RotationPlaybooks there
 *   ben  pb-payments: the same in payments, with a playbook of the same name and secret as ann's
 *
 * Every schedule an action must not touch is described before and after (after the controller's
 * next pass); one test shows that comparison reports a deliberate change to each schedule.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteSchedule, describeSchedule } from '../../adapters/temporal/rotation-schedule';
import { playbookScheduleId, rotationWorkflowId } from '../../core/ids';
import { resourceGroup, resourceVersion } from '../../core/resources';
import type { Condition } from '../../core/resources';
import type { RotationInput } from '../../core/status';
import { applyRotorResources } from '../../dev/local-stack/kube/rotor-resources';
import type { Controller } from '../../workers/controller/controller';
import { freshNamespace, kubeconfigFor } from '../helpers/kube';
import { createRotorObject, grant, kubeUser, namespaceTenantsPolicy, readRotorObject } from '../helpers/kube-users';
import { startKubeController } from '../helpers/kube-controller';
import type { KubeController } from '../helpers/kube-controller';
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { changesBetween, reportedChanges, snapshotVictims } from '../helpers/victims';
import type { Probe } from '../helpers/victims';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const cluster = 'cluster-a';
const admin = kubeconfigFor(cluster);
const hex = randomBytes(4).toString('hex');
const ann = `ann-${hex}`;
const ben = `ben-${hex}`;
const controllerUser = `rotor-pb-controller-${hex}`;
const scratch = mkdtempSync(join(tmpdir(), 'rotor-kube-playbooks-'));
const day = 86_400_000;
/** One secret name in both namespaces: their schedules must still be two. */
const secret = `pb-db-${hex}`;

let orders: string;
let payments: string;
const kc: Record<string, KubeConfig> = {};
let tw: TestWorker;
let controller: Controller;
let controllerIdentity: KubeController['identity'] | undefined;
let ordersStore: TestStore;
let paymentsStore: TestStore;
let ordersBefore: StoreSnapshot;
let victims: Record<string, Probe>;

const ordersDb = () => playbookScheduleId(orders, 'db');
const paymentsDb = () => playbookScheduleId(payments, 'db');

const playbookSpec = (s: TestStore, every: string) => ({
  secret: { name: secret, store: s.store },
  credential: { kind: 'random', length: 32 },
  schedule: { every },
});

/**
 * A schedule as Temporal holds it: absent, or its note (owner and digest of what was synced), state,
 * spec and when it was last updated (a change the controller has since put back still shows).
 */
function scheduleProbe(id: () => string): Probe {
  return async () => {
    const d = await describeSchedule(tw.client, id());
    return d
      ? { note: d.state.note, paused: d.state.paused, spec: d.spec, updated: d.info.lastUpdatedAt?.toISOString() }
      : 'absent';
  };
}

/** Polls `read` until `done` holds; fails with the last value read. */
async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000}s; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The playbook once its Ready condition says `status` for its current generation. */
async function ready(namespace: string, name: string, status: Condition['status']) {
  const obj = await until(
    `${namespace}/${name} Ready=${status}`,
    () => readRotorObject(admin, 'rotationplaybooks', namespace, name),
    (o) =>
      o.status?.observedGeneration === o.metadata.generation &&
      o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === status) === true,
  );
  const condition = obj.status?.conditions?.find((c) => c.type === 'Ready');
  if (!condition) throw new Error('no Ready condition');
  return { obj, condition };
}

/** The rotation input a schedule starts (decoded with the codec). */
async function scheduledInput(id: string): Promise<RotationInput | undefined> {
  const d = await describeSchedule(tw.client, id);
  return (d?.action as { args?: RotationInput[] } | undefined)?.args?.[0];
}

/** Runs `action` and checks none of `probes` changed, after the controller's next pass too. */
async function unchanged<T>(action: () => Promise<T>, probes: Record<string, Probe> = victims): Promise<T> {
  const before = await snapshotVictims(probes);
  const result = await action();
  await controller.settled();
  expect(changesBetween(before, await snapshotVictims(probes))).toEqual([]);
  return result;
}

/** The victims but one: the schedule an action is meant to change. */
const victimsBut = (name: string) => Object.fromEntries(Object.entries(victims).filter(([n]) => n !== name));

beforeAll(async () => {
  await applyRotorResources(admin);
  orders = await freshNamespace(admin, 'pb-orders');
  payments = await freshNamespace(admin, 'pb-payments');
  kc[ann] = await kubeUser(cluster, ann);
  kc[ben] = await kubeUser(cluster, ben);
  const author = {
    apiGroups: [resourceGroup],
    resources: ['rotationplaybooks'],
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
  };
  await grant(admin, orders, ann, [author]);
  await grant(admin, payments, ben, [author]);

  ({
    tw,
    controller,
    identity: controllerIdentity,
  } = await startKubeController({
    env,
    admin,
    cluster,
    scratch,
    policy: namespaceTenantsPolicy({
      orders: { namespace: orders, pathPrefix: `pb/orders-${hex}` },
      payments: { namespace: payments, pathPrefix: `pb/payments-${hex}` },
    }),
    controllerUser: controllerUser,
    namespaces: [orders, payments],
    scheduling: true,
  }));
  ordersStore = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `pb/orders-${hex}/`);
  paymentsStore = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `pb/payments-${hex}/`);
  ordersBefore = await ordersStore.snapshot();
  victims = {
    "orders' db schedule": scheduleProbe(ordersDb),
    "payments' db schedule": scheduleProbe(paymentsDb),
    "orders' stolen schedule": scheduleProbe(() => playbookScheduleId(orders, 'stolen')),
  };
});

afterAll(async () => {
  await controller?.stop();
  for (const ns of [orders, payments])
    for (const name of ['db', 'stolen']) if (ns && tw) await deleteSchedule(tw.client, playbookScheduleId(ns, name));
  await tw?.close();
  const core = admin.makeApiClient(CoreV1Api);
  for (const ns of [orders, payments]) if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await controllerIdentity?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

const patchSpec = (user: string, namespace: string, name: string, spec: unknown) =>
  kc[user]!.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
    { group: resourceGroup, version: resourceVersion, plural: 'rotationplaybooks', namespace, name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

describe("a tenant's RotationPlaybook keeps its schedule", () => {
  it('gives a scheduled playbook its own schedule in its namespace, Ready and next due', async () => {
    await createRotorObject(kc[ann]!, 'rotationplaybooks', orders, 'db', playbookSpec(ordersStore, '30d'));
    const { obj, condition } = await ready(orders, 'db', 'True');
    expect(condition).toMatchObject({ reason: 'Scheduled', observedGeneration: 1 });
    expect(condition.message).toContain(
      `admitted by the policy as tenant orders; schedule ${ordersDb()} runs every 30d`,
    );
    const d = await describeSchedule(tw.client, ordersDb());
    expect(d?.spec.intervals).toMatchObject([{ every: 30 * day }]);
    expect(d?.state.note).toMatch(new RegExp(` tenant=${orders}$`));
    // The run it starts is the namespace's: the worker admits it as that tenant.
    expect(await scheduledInput(ordersDb())).toMatchObject({
      trigger: 'schedule',
      namespace: orders,
      playbookFile: `rotationplaybooks/${orders}/db`,
    });
    const due = d?.info.nextActionTimes[0]?.toISOString();
    expect(due).toBeDefined();
    expect(obj.status).toMatchObject({ scheduleId: ordersDb(), nextDue: due });
    expect(obj.status?.lastRotation).toBeUndefined();
    // Status is written only when it changes: passes over an unchanged playbook leave it alone.
    await controller.settled();
    await controller.settled();
    const again = await readRotorObject(admin, 'rotationplaybooks', orders, 'db');
    expect(again.metadata.resourceVersion).toBe(obj.metadata.resourceVersion);
  });

  it('updates the schedule when the playbook changes', async () => {
    const before = (await readRotorObject(admin, 'rotationplaybooks', orders, 'db')).status?.nextDue;
    await patchSpec(ann, orders, 'db', { schedule: { every: '45d' } });
    const { obj, condition } = await ready(orders, 'db', 'True');
    expect(condition.observedGeneration).toBe(2);
    expect(condition.message).toContain('runs every 45d');
    const d = await describeSchedule(tw.client, ordersDb());
    expect(d?.spec.intervals).toMatchObject([{ every: 45 * day }]);
    expect(obj.status?.nextDue).toBe(d?.info.nextActionTimes[0]?.toISOString());
    expect(obj.status?.nextDue).not.toBe(before);
  });

  it("refuses a playbook naming another team's store: Ready=False with the policy rule, and no schedule", async () => {
    await unchanged(async () => {
      await createRotorObject(kc[ann]!, 'rotationplaybooks', orders, 'stolen', {
        ...playbookSpec(paymentsStore, '1d'),
        secret: { name: `pb-stolen-${hex}`, store: paymentsStore.store },
      });
      const { obj, condition } = await ready(orders, 'stolen', 'False');
      expect(condition.reason).toBe('PolicyRefused');
      expect(condition.message).toContain('spec.secret.store');
      expect(condition.message).toContain('tenants[orders].allow.vault');
      expect(obj.status?.scheduleId).toBeUndefined();
      expect(obj.status?.nextDue).toBeUndefined();
    });
    expect(await describeSchedule(tw.client, playbookScheduleId(orders, 'stolen'))).toBeUndefined();
  });

  it('gives a same-named playbook of the same secret in another namespace its own schedule', async () => {
    const { obj } = await unchanged(async () => {
      await createRotorObject(kc[ben]!, 'rotationplaybooks', payments, 'db', playbookSpec(paymentsStore, '7d'));
      return ready(payments, 'db', 'True');
    }, victimsBut("payments' db schedule"));
    expect(obj.status?.scheduleId).toBe(paymentsDb());
    expect(paymentsDb()).not.toBe(ordersDb());
    const d = await describeSchedule(tw.client, paymentsDb());
    expect(d?.spec.intervals).toMatchObject([{ every: 7 * day }]);
    expect(d?.state.note).toMatch(new RegExp(` tenant=${payments}$`));
    expect(await scheduledInput(paymentsDb())).toMatchObject({ namespace: payments });
  });

  it('the "unchanged" comparison reports a deliberate change to either schedule', async () => {
    // Paused by an update that keeps rotor's note; the controller puts it back at its next pass,
    // and the update time still shows it.
    const pause = (id: string) =>
      tw.client.schedule.getHandle(id).update((prev) => ({ ...prev, state: { ...prev.state, paused: true } }));
    // One at a time, each after a pass: the put-back of one is not counted against the other.
    const reports = [];
    for (const [name, id] of [
      ["orders' db schedule", ordersDb()],
      ["payments' db schedule", paymentsDb()],
    ] as const) {
      await controller.settled();
      reports.push(...(await reportedChanges(victims, { [name]: () => pause(id) })));
    }
    expect(reports).toEqual([
      { changed: "orders' db schedule", reported: ["orders' db schedule"] },
      { changed: "payments' db schedule", reported: ["payments' db schedule"] },
    ]);
    await controller.settled();
    expect((await describeSchedule(tw.client, ordersDb()))?.state.paused).toBe(false);
    expect((await describeSchedule(tw.client, paymentsDb()))?.state.paused).toBe(false);
  });

  it("puts back a schedule a Temporal client paused, stretched, limited or ended behind the controller's back, keeping rotor's note", async () => {
    const before = await describeSchedule(tw.client, ordersDb());
    if (!before) throw new Error('orders has no schedule');
    const inputBefore = await scheduledInput(ordersDb());
    const century = 100 * 365 * day;
    await tw.client.schedule.getHandle(ordersDb()).update((prev) => ({
      ...prev,
      action: { ...prev.action, args: [{ ...inputBefore, requestedBy: 'mallory' }] },
      spec: { ...prev.spec, intervals: [{ every: century }], endAt: new Date(Date.now() + 1000) },
      state: { ...prev.state, paused: true, remainingActions: 0 },
    }));
    const tampered = await describeSchedule(tw.client, ordersDb());
    expect(tampered).toMatchObject({ state: { note: before.state.note, paused: true, remainingActions: 0 } });
    expect(tampered?.spec.intervals).toMatchObject([{ every: century }]);
    expect(await scheduledInput(ordersDb())).toMatchObject({ requestedBy: 'mallory' });

    await controller.settled();
    const after = await describeSchedule(tw.client, ordersDb());
    expect(after?.state).toMatchObject({ note: before.state.note, paused: false });
    expect(after?.state.remainingActions).toBeUndefined();
    expect(after?.spec.intervals).toEqual(before.spec.intervals);
    expect(after?.spec.endAt).toBeUndefined();
    expect(await scheduledInput(ordersDb())).toEqual(inputBefore);
    const { obj } = await ready(orders, 'db', 'True');
    expect(obj.status?.nextDue).toBe(after?.info.nextActionTimes[0]?.toISOString());
  });

  it('shows a triggered scheduled run as the last rotation, in the fleet view', async () => {
    const paymentsBefore = await paymentsStore.snapshot();
    await tw.client.schedule.getHandle(ordersDb()).trigger();
    const obj = await until(
      "orders' db last rotation ended",
      () => readRotorObject(admin, 'rotationplaybooks', orders, 'db'),
      (o) => ['Rotated', 'Skipped', 'RolledBack', 'Failed'].includes(o.status?.lastRotation?.outcome ?? ''),
      120_000,
    );
    const last = obj.status?.lastRotation;
    expect(last).toMatchObject({
      outcome: 'Rotated',
      trigger: 'schedule',
      workflowId: rotationWorkflowId(secret, orders),
    });
    expect(last?.uiLink).toContain(encodeURIComponent(rotationWorkflowId(secret, orders)));
    expect(last?.uiLink).toContain(last?.runId ?? 'no run id');
    const rotated = await rotatedOnce(ordersStore, ordersBefore, (await ordersStore.snapshot()).currentVersion);
    expect(rotated.state).toEqual(rotated.expected);
    // payments' store, with the same secret name, was not touched.
    expect(await paymentsStore.snapshot()).toEqual(paymentsBefore);

    // What `kubectl get rotationplaybooks` prints: the apiserver's table of the printer columns.
    const table = (await admin
      .makeApiClient(CustomObjectsApi)
      .listNamespacedCustomObject(
        { group: resourceGroup, version: resourceVersion, plural: 'rotationplaybooks', namespace: orders },
        setHeaderOptions('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io'),
      )) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Secret',
      'Last Rotation',
      'Outcome',
      'Next Due',
      'Reason',
      'Age',
    ]);
    const row = (name: string) => table.rows.find((r) => r.cells[0] === name)?.cells;
    expect(row('db')?.slice(0, 3)).toEqual(['db', 'True', secret]);
    expect(row('db')?.[4]).toBe('Rotated');
    expect(row('db')?.[5]).toBe(obj.status?.nextDue);
    expect(row('stolen')?.slice(0, 2)).toEqual(['stolen', 'False']);
    expect(row('stolen')?.[6]).toBe('PolicyRefused');
  }, 180_000);

  it("rotates two namespaces' same secret name at once, each under its own rotation id", async () => {
    const ended = ['Rotated', 'Skipped', 'RolledBack', 'Failed'];
    const lastOf = async (namespace: string) =>
      (await readRotorObject(admin, 'rotationplaybooks', namespace, 'db')).status?.lastRotation;
    const previous = { orders: (await lastOf(orders))?.runId, payments: (await lastOf(payments))?.runId };
    const paymentsBefore = await paymentsStore.snapshot();
    // Under one id per secret name, whichever started second would be skipped as already running.
    await Promise.all([ordersDb(), paymentsDb()].map((id) => tw.client.schedule.getHandle(id).trigger()));
    const next = (namespace: string, was: string | undefined) =>
      until(
        `${namespace}'s next scheduled rotation ended`,
        () => lastOf(namespace),
        (l) => l !== undefined && l.runId !== was && ended.includes(l.outcome),
        120_000,
      );
    const [o, p] = await Promise.all([next(orders, previous.orders), next(payments, previous.payments)]);
    expect(o).toMatchObject({ outcome: 'Rotated', workflowId: rotationWorkflowId(secret, orders) });
    expect(p).toMatchObject({ outcome: 'Rotated', workflowId: rotationWorkflowId(secret, payments) });
    expect(await paymentsStore.snapshot()).not.toEqual(paymentsBefore);
  }, 180_000);

  it('deletes the schedule with its playbook, and no other', async () => {
    await unchanged(async () => {
      await kc[ann]!.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
        group: resourceGroup,
        version: resourceVersion,
        plural: 'rotationplaybooks',
        namespace: orders,
        name: 'db',
      });
      await until(
        "orders' db schedule deleted",
        () => describeSchedule(tw.client, ordersDb()),
        (d) => d === undefined,
      );
    }, victimsBut("orders' db schedule"));
    expect(await describeSchedule(tw.client, paymentsDb())).toBeDefined();
  });
});
