/**
 * Issue 24 item 1, from an attacker's position: rotations requested and approved through the
 * management cluster's apiserver (the stack's cluster-a). Each person is a real apiserver user
 * with a client certificate of their own and RBAC only in their namespace; rotor's CRDs and the
 * requester-identity admission policy are the chart's (applied as the stack applies them); a real
 * worker under a policy whose tenants are namespaces, and rotor's controller, run beside; the
 * controller as a user of its own holding only the chart's ClusterRole for it.
 *
 *   alice   orders: applies playbooks, requests (verb rotate), may approve others' requests
 *   bob     orders: approves (verb approve)
 *   eve     orders: may create requests and approvals, but holds neither verb
 *   mallory payments: applies playbooks and requests there (verb rotate), nothing in orders
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationWorkflowId } from '../../core/ids';
import { resourceGroup, resourceVersion } from '../../core/resources';
import { applyRotorResources } from '../../dev/local-stack/kube/rotor-resources';
import type { Controller } from '../../workers/controller/controller';
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
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { waitForPhase } from '../helpers/worker';
import { statusQuery } from '../../workflows/definitions';
import { runRotor } from '../helpers/cli';
import { startKubeController } from '../helpers/kube-controller';
import type { KubeController } from '../helpers/kube-controller';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const cluster = 'cluster-a';
const admin = kubeconfigFor(cluster);
const hex = randomBytes(4).toString('hex');
const user = (name: string) => `${name}-${hex}`;
const [alice, bob, eve, mallory] = ['alice', 'bob', 'eve', 'mallory'].map(user) as [string, string, string, string];
/** The controller's own identity: only the chart's ClusterRole for it, no admin rights. */
const controllerUser = user('rotor-controller');

const group = resourceGroup;
/** The policy and the users' kubeconfigs (their keys), removed after the file. */
const scratch = mkdtempSync(join(tmpdir(), 'rotor-kube-requests-'));

let orders: string;
let payments: string;
const kc: Record<string, KubeConfig> = {};
let tw: TestWorker;
let controller: Controller;
let controllerIdentity: KubeController['identity'] | undefined;
/** The orders team's secret and the playbook that rotates it (approval before revoke). */
let store: TestStore;
let storeBefore: StoreSnapshot;
/** Runs and store before any request: the happy path shows the "unchanged" checks see a change. */
let initial: { runs: number; store: StoreSnapshot };
const playbookName = 'db';
const secretName = `crd-orders-${hex}`;

const playbookSpec = (s: TestStore, secret: string) => ({
  secret: { name: secret, store: s.store },
  credential: { kind: 'random', length: 32 },
  approval: { beforeRevoke: true },
});

/** How many runs Temporal has of the secret's rotation id, and the store as it stands. */
async function world(secret: string, s: TestStore): Promise<{ runs: number; store: StoreSnapshot }> {
  const { count } = await tw.client.workflow.count(`WorkflowId = '${rotationWorkflowId(secret, orders)}'`);
  return { runs: count, store: await s.snapshot() };
}

beforeAll(async () => {
  await applyRotorResources(admin);
  orders = await freshNamespace(admin, 'crd-orders');
  payments = await freshNamespace(admin, 'crd-payments');
  for (const name of [alice, bob, eve, mallory]) kc[name] = await kubeUser(cluster, name);
  const objects = (resources: string[], verbs: string[]) => ({ apiGroups: [group], resources, verbs });
  const verb = (v: string) => objects(['rotationplaybooks'], [v]);
  // Authors may also update and patch their objects: only the admission policy stops a change of spec.
  const author = objects(
    ['rotationplaybooks', 'rotationrequests', 'rotationapprovals'],
    ['get', 'list', 'create', 'update', 'patch'],
  );
  // alice holds approve too: separation of duties, not RBAC, keeps her from approving herself.
  await grant(admin, orders, alice, [author, verb('rotate'), verb('approve')]);
  await grant(admin, orders, bob, [author, verb('approve')]);
  await grant(admin, orders, eve, [author]);
  // mallory may even write her requests' status (an over-broad grant an admin might make).
  await grant(admin, payments, mallory, [
    author,
    verb('rotate'),
    verb('emergency'),
    objects(['rotationrequests/status'], ['get', 'patch']),
  ]);

  // Tenants are the namespaces; each may rotate only its own Vault prefix.
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
      {
        orders: { namespace: orders, pathPrefix: `crd/orders-${hex}` },
        payments: { namespace: payments, pathPrefix: `crd/payments-${hex}` },
      },
      { separationOfDuties: true },
    ),
    controllerUser: controllerUser,
    namespaces: [orders, payments],
  }));
  store = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `crd/orders-${hex}/`);
  storeBefore = await store.snapshot();
  initial = await world(secretName, store);
  await createRotorObject(kc[alice]!, 'rotationplaybooks', orders, playbookName, playbookSpec(store, secretName));
});

afterAll(async () => {
  await controller?.stop();
  await tw?.close();
  const core = admin.makeApiClient(CoreV1Api);
  for (const ns of [orders, payments]) if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await controllerIdentity?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

describe('who asked is the apiserver user', () => {
  it('refuses a request or approval claiming another user, and any later change of its spec', async () => {
    const claimed = await apiRefusal(
      createRotorObject(kc[alice]!, 'rotationrequests', orders, 'forged', {
        playbookRef: playbookName,
        requestedBy: bob,
      }),
    );
    expect(claimed.code).toBe(403);
    expect(claimed.message).toContain(`spec.requestedBy must be your own user name, ${alice}, not ${bob}`);
    const approval = await apiRefusal(
      createRotorObject(kc[bob]!, 'rotationapprovals', orders, 'forged', {
        requestRef: 'any',
        action: 'approve',
        approvedBy: alice,
      }),
    );
    expect(approval.message).toContain(`spec.approvedBy must be your own user name, ${bob}, not ${alice}`);

    // Her own name is accepted (the playbook does not exist: denied, nothing starts); then she
    // tries to make it someone else's.
    await createRotorObject(kc[alice]!, 'rotationrequests', orders, 'later', {
      playbookRef: 'missing',
      requestedBy: alice,
    });
    const changed = await apiRefusal(
      kc[alice]!.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
        {
          group,
          version: resourceVersion,
          plural: 'rotationrequests',
          namespace: orders,
          name: 'later',
          body: { spec: { requestedBy: bob, playbookRef: playbookName } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(changed.code).toBe(403);
    expect(changed.message).toContain('cannot change once made');
    expect((await readRotorObject(admin, 'rotationrequests', orders, 'later')).spec).toMatchObject({
      requestedBy: alice,
      playbookRef: 'missing',
    });
    const { condition } = await waitForCondition(admin, 'rotationrequests', orders, 'later', ['Denied']);
    expect(condition.reason).toBe('PlaybookNotFound');
  });
});

describe('authority is RBAC in the namespace', () => {
  it('denies a request by a user without the rotate verb and starts nothing', async () => {
    const before = await world(secretName, store);
    await createRotorObject(kc[eve]!, 'rotationrequests', orders, 'eve-asks', {
      playbookRef: playbookName,
      requestedBy: eve,
    });
    const { obj, condition } = await waitForCondition(admin, 'rotationrequests', orders, 'eve-asks', ['Denied']);
    expect(condition.reason).toBe('MissingVerb');
    expect(condition.message).toContain(`user ${eve} may not rotate rotationplaybooks/${playbookName}`);
    expect(obj.status?.workflowId).toBeUndefined();
    // Everything the controller could have started or changed is as it was.
    await controller.settled();
    expect(await world(secretName, store)).toEqual(before);
  });

  it('denies an emergency to a user who may rotate but holds no emergency verb', async () => {
    const before = await world(secretName, store);
    await createRotorObject(kc[alice]!, 'rotationrequests', orders, 'alice-emergency', {
      playbookRef: playbookName,
      mode: 'emergency',
      compromised: true,
      reason: 'leaked',
      requestedBy: alice,
    });
    const { condition } = await waitForCondition(admin, 'rotationrequests', orders, 'alice-emergency', ['Denied']);
    expect(condition.reason).toBe('MissingVerb');
    expect(condition.message).toContain(`user ${alice} may not emergency rotationplaybooks/${playbookName}`);
    await controller.settled();
    expect(await world(secretName, store)).toEqual(before);
  });

  it("keeps a user of payments out of orders' playbooks and secrets", async () => {
    // Not in orders at all: RBAC refuses the object.
    const there = await apiRefusal(
      createRotorObject(kc[mallory]!, 'rotationrequests', orders, 'mallory', {
        playbookRef: playbookName,
        requestedBy: mallory,
      }),
    );
    expect(there.code).toBe(403);
    // From payments, orders' playbook name finds nothing: requests name playbooks of their namespace.
    await createRotorObject(kc[mallory]!, 'rotationrequests', payments, 'by-name', {
      playbookRef: playbookName,
      requestedBy: mallory,
    });
    const byName = await waitForCondition(admin, 'rotationrequests', payments, 'by-name', ['Denied']);
    expect(byName.condition.reason).toBe('PlaybookNotFound');

    // A playbook of her own naming orders' Vault entry runs as tenant payments, whatever it
    // says: the worker's admission refuses it before anything changes.
    const before = await world(secretName, store);
    const stolen = `crd-stolen-${hex}`;
    await createRotorObject(kc[mallory]!, 'rotationplaybooks', payments, 'steal', playbookSpec(store, stolen));
    await createRotorObject(kc[mallory]!, 'rotationrequests', payments, 'steal', {
      playbookRef: 'steal',
      mode: 'emergency',
      compromised: true,
      requestedBy: mallory,
    });
    const { condition } = await waitForCondition(admin, 'rotationrequests', payments, 'steal', ['RolledBack'], 90_000);
    expect(condition.reason).toBe('Refused');
    expect(condition.message).toContain('tenants[payments].allow.vault');
    expect(await world(secretName, store)).toEqual(before);
  });
});

describe('the happy path through the resources', () => {
  it('rotates what a tenant user requested once a second user with approve approves it', async () => {
    await createRotorObject(kc[alice]!, 'rotationrequests', orders, 'rotate-db', {
      playbookRef: playbookName,
      reason: 'quarterly',
      requestedBy: alice,
    });
    const accepted = await waitForCondition(admin, 'rotationrequests', orders, 'rotate-db', ['Accepted']);
    expect(accepted.obj.status?.workflowId).toBe(rotationWorkflowId(secretName, orders));
    expect(accepted.obj.status?.uiLink).toContain(encodeURIComponent(rotationWorkflowId(secretName, orders)));
    expect(accepted.obj.status?.uiLink).toContain(accepted.obj.status?.runId ?? 'no run id');
    await waitForCondition(admin, 'rotationrequests', orders, 'rotate-db', ['Rotating'], 60_000);

    // The requester cannot approve her own request; eve lacks the verb.
    await createRotorObject(kc[alice]!, 'rotationapprovals', orders, 'self', {
      requestRef: 'rotate-db',
      action: 'approve',
      approvedBy: alice,
    });
    const self = await waitForCondition(admin, 'rotationapprovals', orders, 'self', ['Denied']);
    expect(self.condition.reason).toBe('SeparationOfDuties');
    await createRotorObject(kc[eve]!, 'rotationapprovals', orders, 'eve', {
      requestRef: 'rotate-db',
      action: 'approve',
      approvedBy: eve,
    });
    const noVerb = await waitForCondition(admin, 'rotationapprovals', orders, 'eve', ['Denied']);
    expect(noVerb.condition.reason).toBe('MissingVerb');
    expect(noVerb.condition.message).toContain(`user ${eve} may not approve`);
    // mallory revives her denied request by its status, points it at orders' run and aborts "it".
    await kc[mallory]!.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
      {
        group,
        version: resourceVersion,
        plural: 'rotationrequests',
        namespace: payments,
        name: 'by-name',
        body: {
          status: {
            conditions: [],
            workflowId: rotationWorkflowId(secretName, orders),
            runId: accepted.obj.status?.runId,
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await createRotorObject(kc[mallory]!, 'rotationapprovals', payments, 'forged-abort', {
      requestRef: 'by-name',
      action: 'abort',
      approvedBy: mallory,
    });
    // Refused either way round: the approval names a foreign run, or the controller already
    // marked the revived request as following a run that is not its own.
    const forged = await waitForCondition(admin, 'rotationapprovals', payments, 'forged-abort', ['Denied']);
    expect(['NotThisRequest', 'RequestFinished']).toContain(forged.condition.reason);
    const revived = await waitForCondition(admin, 'rotationrequests', payments, 'by-name', ['Denied']);
    expect(revived.condition.reason).toBe('NotThisRequest');
    // None of them reached the workflow: it reaches the gate and waits there, not aborted.
    const run = tw.client.workflow.getHandle(rotationWorkflowId(secretName, orders), accepted.obj.status?.runId);
    await waitForPhase(run, 'approval');
    expect((await run.query(statusQuery)).awaitingApproval).toBe(true);

    await createRotorObject(kc[bob]!, 'rotationapprovals', orders, 'bob', {
      requestRef: 'rotate-db',
      action: 'approve',
      reason: 'looks good',
      approvedBy: bob,
    });
    const approved = await waitForCondition(admin, 'rotationapprovals', orders, 'bob', ['Accepted', 'Denied'], 90_000);
    expect(approved.condition.type).toBe('Accepted');
    const done = await waitForCondition(
      admin,
      'rotationrequests',
      orders,
      'rotate-db',
      ['Succeeded', 'RolledBack'],
      120_000,
    );
    expect(done.condition.type).toBe('Succeeded');
    expect(done.obj.status?.uiLink).toBe(accepted.obj.status?.uiLink);
    const rotated = await rotatedOnce(store, storeBefore, (await store.snapshot()).currentVersion);
    expect(rotated.state).toEqual(rotated.expected);
    // The comparison the refusals rely on catches a real start and a real change.
    const now = await world(secretName, store);
    expect(now.runs).toBe(initial.runs + 1);
    expect(now.store).not.toEqual(initial.store);
  }, 240_000);

  it("does the same with the rotor CLI and each user's own kubeconfig", async () => {
    const kubeconfigFile = (name: string) => {
      const file = join(scratch, `${name}.kubeconfig`);
      writeFileSync(file, kc[name]!.exportConfig(), { mode: 0o600 });
      return { ...env, KUBECONFIG: file };
    };
    const where = ['-n', orders, '--context', cluster, '--json'];
    const asked = await runRotor(kubeconfigFile(alice), 'request', playbookName, '--reason', 'from the CLI', ...where);
    expect(asked.stderr).toBe('');
    const line = JSON.parse(asked.stdout.trim()) as { name: string; condition: string; uiLink: string };
    expect(asked.code).toBe(0);
    expect(line).toMatchObject({ condition: 'Accepted', uiLink: expect.stringContaining('rotate') as unknown });
    expect((await readRotorObject(admin, 'rotationrequests', orders, line.name)).spec).toMatchObject({
      requestedBy: alice,
    });

    // The name is the apiserver's: --by cannot go with --via-kube, and alice is still the requester.
    const claimed = await runRotor(kubeconfigFile(alice), 'approve', line.name, '--via-kube', '--by', bob, ...where);
    expect(claimed.code).toBe(1);
    expect(claimed.stderr).toContain('--by does not go with --via-kube');
    const self = await runRotor(kubeconfigFile(alice), 'approve', line.name, '--via-kube', ...where);
    expect(self.code).toBe(1);
    expect(JSON.parse(self.stdout.trim())).toMatchObject({ condition: 'Denied', reason: 'SeparationOfDuties' });

    const approved = await runRotor(kubeconfigFile(bob), 'approve', line.name, '--via-kube', ...where);
    expect(JSON.parse(approved.stdout.trim())).toMatchObject({ condition: 'Accepted' });
    expect(approved.code).toBe(0);
    const done = await waitForCondition(
      admin,
      'rotationrequests',
      orders,
      line.name,
      ['Succeeded', 'RolledBack'],
      120_000,
    );
    expect(done.condition.type).toBe('Succeeded');
  }, 240_000);
});
