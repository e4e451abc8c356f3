/**
 * Incidents under `identity: kubernetes` (issue 24), on Temporal's time-skipping server: a
 * RotationIncident's rotations start only with rotor's controller's attestation of each target's
 * rotation, bound to the incident's run and RotationIncident. The attacker is a Temporal client
 * holding the codec key: it starts an incident without attestations, copies an incident's
 * attestations onto a rotation started directly, onto an incident of its own, onto another target,
 * and starts an incident long after its attestations were made. Each rotation is refused at plan
 * and its store is untouched. The admission activities are the real ones (a key made for the
 * test); the stores are fakes. Last, rotor's controller's reconcile of RotationIncidents over a fake
 * management cluster (its RBAC answers) starts an incident the worker takes. Steering: pause,
 * resume and abort without the controller's attestation, with a made-up one, another incident's,
 * a spent one or another action's are refused and counted, an abort NotFromController; the
 * controller passes on a RotationApproval of the incident only for a user holding `emergency` on
 * all its playbooks, and only to the run it started for it. Against the real stack, apiserver and
 * controller: test/integration/kube-incident.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { actionClaim, attest, attestedInput } from '../../adapters/controller-attestation';
import type { OperatorAction } from '../../core/status';
import { rejection } from '../helpers/rejection';
import { childInput, incidentRotationId } from '../../core/incident/child-input';
import type { IncidentInput, IncidentReport, IncidentTarget } from '../../core/incident/types';
import type { Playbook } from '../../core/playbook/schema';
import { kubeIdentityActivities } from '../helpers/kube-activities';
import { testPlaybook } from '../helpers/playbooks';
import type { RotorObject, RotorPlural, RotorResources, RotorStatus } from '../../adapters/kubernetes/rotor-resources';
import { reconcileApproval } from '../../workers/controller/approvals';
import { reconcileIncident, rotationIncidentId } from '../../workers/controller/incidents';
import type { WorkflowHandle } from '@temporalio/client';
import type { IncidentStatus } from '../../core/incident/types';
import {
  abortIncidentUpdate,
  incidentStatusQuery,
  pauseIncidentSignal,
  resumeIncidentSignal,
} from '../../workflows/incident/definitions';
import { HOUR, MINUTE, failureOf, useTimeSkipping } from '../helpers/time-skipping';

/** Polls the incident's status until `ok`. */
async function until(h: WorkflowHandle, what: string, ok: (s: IncidentStatus) => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = await h.query(incidentStatusQuery).catch(() => undefined);
    if (s && ok(s)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the incident never reached ${what}`);
}

/** The controller's keys (derived from a fingerprint key made for the test), which the attacker lacks. */
const { keys, activities } = kubeIdentityActivities();
const ts = useTimeSkipping({ activities });

const namespace = 'orders';
const playbook = () => testPlaybook({ type: 'aws', secretId: `rotor-test/kube-incident-${randomUUID().slice(0, 8)}` });

/** An incident of `playbooks` in namespace orders, as alice's RotationIncident asks for it. */
const incidentOf = (playbooks: Playbook[], targets?: IncidentTarget[]): IncidentInput => ({
  reason: 'key leaked',
  requestedBy: 'alice',
  namespace,
  compromised: true,
  selection: 'RotationIncident orders/leak',
  targets:
    targets ?? playbooks.map((p) => ({ playbook: p, playbookFile: `rotationplaybooks/orders/${p.metadata.name}` })),
  concurrency: 4,
  perBackend: 4,
});

/** `input` with each target vouched for as rotor's controller does, for the incident run `incidentId`. */
async function vouched(input: IncidentInput, incidentId: string, issuedAt?: number): Promise<IncidentInput> {
  const at = issuedAt ?? (await ts.server().currentTimeMs());
  const requestUid = randomUUID();
  return {
    ...input,
    targets: input.targets.map((t) => {
      const workflowId = incidentRotationId(input, t);
      const claim = {
        kind: 'incident-rotation' as const,
        incidentId,
        requestUid,
        workflowId,
        input: attestedInput(childInput(input, incidentId, t)),
      };
      return { ...t, attestation: attest(keys, claim, at) };
    }),
  };
}

/** What rotor's controller sends for alice's RotationApproval of `action` on the incident `h`. */
async function vouchedAction(
  h: WorkflowHandle,
  action: string,
  by: string,
  on = h,
  at = Date.now(),
): Promise<OperatorAction> {
  const op = { by };
  const firstRunId = (await on.describe()).raw.workflowExecutionInfo?.firstRunId ?? '';
  return { ...op, attestation: attest(keys, actionClaim(action, on.workflowId, firstRunId, op), at) };
}

const startIncident = (incidentId: string, input: IncidentInput) =>
  ts
    .server()
    .client.workflow.start('incidentWorkflow', { taskQueue: ts.taskQueue, workflowId: incidentId, args: [input] });

const storeOf = (p: Playbook) => ts.storeOf(`rotate/${namespace}/${p.spec.secret.name}`);

/** Each store as before any rotation: no call that changes anything. */
function untouched(playbooks: Playbook[]) {
  for (const p of playbooks) {
    const store = storeOf(p);
    expect(store.names()).not.toContain('createPendingVersion');
    expect(store.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
  }
}

/** Every rotation of the incident refused at plan with `why`. */
function allRefused(report: IncidentReport, playbooks: Playbook[], why: string) {
  expect(report.outcome).toBe('needs-attention');
  expect(report.rotated).toEqual([]);
  expect(report.needsAttention.map((r) => r.secret).sort()).toEqual(playbooks.map((p) => p.spec.secret.name).sort());
  for (const r of report.needsAttention) {
    expect(r.why).toContain('PolicyRefused');
    expect(r.why).toContain(why);
  }
}

describe('incidents under identity: kubernetes', () => {
  it('rotates every target of an incident rotor’s controller vouched for, each under its namespace’s id', async () => {
    const playbooks = [playbook(), playbook()];
    const incidentId = `incident/${namespace}/ok-${randomUUID().slice(0, 8)}`;
    const h = await startIncident(incidentId, await vouched(incidentOf(playbooks), incidentId));
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({ outcome: 'rotated', counts: { rotated: 2 } });
    for (const p of playbooks) expect(storeOf(p).state).toMatchObject({ current: 'v2', revoked: ['v1'] });
  });

  it('starts a target long after the attestation when the incident itself began in time (paused 15 min)', async () => {
    const playbooks = [playbook(), playbook()];
    const incidentId = `incident/${namespace}/late-${randomUUID().slice(0, 8)}`;
    const input = { ...(await vouched(incidentOf(playbooks), incidentId)), concurrency: 1 };
    const h = await startIncident(incidentId, input);
    await until(h, 'one started', (s) => s.counts.running + s.counts.rotated === 1);
    await h.signal(pauseIncidentSignal, await vouchedAction(h, 'pause', 'alice'));
    await until(h, 'paused', (s) => s.paused);
    await ts.server().sleep(15 * MINUTE);
    expect((await h.query(incidentStatusQuery)).counts).toMatchObject({ rotated: 1, pending: 1 });
    await h.signal(resumeIncidentSignal, await vouchedAction(h, 'resume', 'alice'));
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({ outcome: 'rotated', counts: { rotated: 2 } });
  });

  it('takes pause, resume and abort only with the controller’s attestation for this incident, each once', async () => {
    const playbooks = Array.from({ length: 6 }, playbook);
    const incidentId = `incident/${namespace}/steer-${randomUUID().slice(0, 8)}`;
    const h = await startIncident(incidentId, {
      ...(await vouched(incidentOf(playbooks), incidentId)),
      concurrency: 1,
    });
    await until(h, 'one started', (s) => s.counts.running + s.counts.rotated === 1);
    const refusedAfter = async (n: number) => {
      await until(h, `${n} refusals`, (s) => (s.refused?.count ?? 0) >= n);
      const s = await h.query(incidentStatusQuery);
      expect(s.refused?.count).toBe(n);
      return s;
    };

    // A codec-key client's pause without an attestation, and one with an attestation it made up.
    await h.signal(pauseIncidentSignal, { by: 'mallory' });
    const madeUp = await vouchedAction(h, 'pause', 'mallory');
    await h.signal(pauseIncidentSignal, { ...madeUp, attestation: { ...madeUp.attestation!, mac: 'A'.repeat(43) } });
    let s = await refusedAfter(2);
    expect(s.paused).toBe(false);
    expect(s.refused?.last.map((r) => r.why)).toEqual([
      expect.stringContaining("it carries no attestation from rotor's controller"),
      expect.stringContaining('does not vouch for this action'),
    ]);

    // An abort without one fails NotFromController and changes nothing.
    const abort = await rejection(h.executeUpdate(abortIncidentUpdate, { args: [{ by: 'mallory' }] }));
    expect(abort.type).toBe('NotFromController');
    expect(abort.message).toContain('incident abort by mallory refused, nothing was changed');
    s = await refusedAfter(3);
    expect(s.aborted).toBeUndefined();

    // The controller's pause for another incident does not serve this one.
    const other = await startIncident(
      `incident/${namespace}/other-${randomUUID().slice(0, 8)}`,
      incidentOf([playbook()]),
    );
    await h.signal(pauseIncidentSignal, await vouchedAction(h, 'pause', 'alice', other));
    s = await refusedAfter(4);
    expect(s.paused).toBe(false);
    await other.terminate('the test is done with it').catch(() => undefined);

    // The controller's pause is taken; its copy, sent again, and a resume with a pause's attestation are not.
    const pause = await vouchedAction(h, 'pause', 'alice');
    await h.signal(pauseIncidentSignal, pause);
    await until(h, 'paused', (x) => x.paused);
    const held = (await h.query(incidentStatusQuery)).counts;
    await h.signal(pauseIncidentSignal, pause);
    await h.signal(resumeIncidentSignal, await vouchedAction(h, 'pause', 'alice', h, Date.now() - 1000));
    s = await refusedAfter(6);
    expect(s.paused).toBe(true);
    expect(s.refused?.last.slice(-2).map((r) => r.why)).toEqual([
      expect.stringContaining('its attestation was used already by this incident'),
      expect.stringContaining('does not vouch for this action'),
    ]);

    // alice's abort through the controller: nothing more starts, the rest stays as it was.
    const answer = await h.executeUpdate(abortIncidentUpdate, { args: [await vouchedAction(h, 'abort', 'alice')] });
    expect(answer).toContain('aborting');
    const report = (await h.result()) as IncidentReport;
    expect(report.outcome).toBe('aborted');
    expect(report.aborted?.by).toBe('alice');
    // Nothing started after the pause: what had not started then never did.
    expect(held.pending).toBeGreaterThan(0);
    expect(report.notStarted).toHaveLength(held.pending);
    await ts.record(h, 'kube-incident-steered');
  });

  it('refuses an incident without the controller’s attestations: every rotation at plan, no store touched', async () => {
    const playbooks = [playbook(), playbook()];
    const h = await startIncident(`incident/forged-${randomUUID().slice(0, 8)}`, incidentOf(playbooks));
    allRefused((await h.result()) as IncidentReport, playbooks, "it carries no attestation from rotor's controller");
    untouched(playbooks);
  });

  it('refuses an incident’s attestation copied onto a direct start, an incident of the attacker’s, or another target', async () => {
    const [a, b, c] = [playbook(), playbook(), playbook()];
    if (!a || !b || !c) throw new Error('three playbooks expected');
    const incidentId = `incident/${namespace}/leak-${randomUUID().slice(0, 8)}`;
    const genuine = await vouched(incidentOf([a, b]), incidentId);
    const [ta, tb] = genuine.targets;
    if (!ta || !tb) throw new Error('two targets expected');

    // a's rotation started directly with its copied input: it is no child of the incident.
    const direct = await ts.server().client.workflow.start('rotationWorkflow', {
      taskQueue: ts.taskQueue,
      workflowId: incidentRotationId(genuine, ta),
      args: [childInput(genuine, incidentId, ta)],
    });
    const failure = await failureOf(direct);
    expect(failure.type).toBe('PolicyRefused');
    expect(failure.message).toContain(`serves only a rotation its incident ${incidentId} starts`);

    // The same targets and attestations under an incident id of the attacker's.
    const own = await startIncident(`incident/${namespace}/mine-${randomUUID().slice(0, 8)}`, genuine);
    allRefused(
      (await own.result()) as IncidentReport,
      [a, b],
      `serves only a rotation its incident ${incidentId} starts`,
    );

    // Under the genuine id, a's attestation on c (not a target the controller vouched for) and b's on a.
    const swapped = incidentOf(
      [],
      [
        { ...ta, playbook: c, attestation: ta.attestation },
        { ...ta, attestation: tb.attestation },
      ],
    );
    const other = await startIncident(incidentId, swapped);
    allRefused((await other.result()) as IncidentReport, [c, a], 'does not vouch for this rotation');
    untouched([a, b, c]);
  });

  it('refuses an incident started long after its attestations were made (an old copy)', async () => {
    const playbooks = [playbook()];
    const incidentId = `incident/${namespace}/old-${randomUUID().slice(0, 8)}`;
    const old = await vouched(incidentOf(playbooks), incidentId, (await ts.server().currentTimeMs()) - HOUR);
    const h = await startIncident(incidentId, old);
    allRefused((await h.result()) as IncidentReport, playbooks, 'more than 10 minutes from');
    untouched(playbooks);
  });
});

/** The management cluster as rotor's controller sees it: playbooks and incidents of orders, and RBAC. */
function fakeCluster(emergency: Record<string, string[]>) {
  const objects = new Map<string, RotorObject>();
  const key = (plural: string, ns: string, name: string) => `${plural}/${ns}/${name}`;
  const resources: RotorResources = {
    list: (plural) => Promise.resolve([...objects].filter(([k]) => k.startsWith(`${plural}/`)).map(([, o]) => o)),
    get: (plural, ns, name) => Promise.resolve(objects.get(key(plural, ns, name))),
    patchStatus(plural, ns, name, status) {
      const obj = objects.get(key(plural, ns, name));
      if (obj) obj.status = { ...obj.status, ...(status as RotorStatus) };
      return Promise.resolve();
    },
    // RBAC: `emergency` on the playbooks listed for the user, nothing else.
    review: (who, verb, _ns, playbook) =>
      Promise.resolve({ allowed: verb === 'emergency' && (emergency[who.user] ?? []).includes(playbook) }),
  };
  const add = (plural: RotorPlural, name: string, spec: unknown): RotorObject => {
    const obj = { metadata: { name, namespace, uid: randomUUID() }, spec };
    objects.set(key(plural, namespace, name), obj);
    return obj;
  };
  return { resources, add };
}

/**
 * Playbooks a and b of orders (alice holds emergency on both, dave on a) and rotor's controller
 * over them, its clock the test server's.
 */
async function controllerOver() {
  const cluster = fakeCluster({ alice: ['a', 'b'], dave: ['a'] });
  const specs = ['a', 'b'].map((name) => {
    const p = playbook();
    cluster.add('rotationplaybooks', name, { secret: p.spec.secret, credential: { kind: 'random', length: 32 } });
    return p;
  });
  const now = new Date(await ts.server().currentTimeMs());
  const deps = {
    resources: cluster.resources,
    client: ts.server().client,
    taskQueue: ts.taskQueue,
    attestationKeys: keys,
    now: () => now,
  };
  return { cluster, specs, deps };
}

describe("rotor's controller and RotationIncidents", () => {
  it('starts the incident of a user holding emergency on every playbook; the worker takes its attestations', async () => {
    const { cluster, specs, deps } = await controllerOver();
    const spec = { playbookRefs: ['a', 'b'], reason: 'leak', compromised: true };
    const denied = cluster.add('rotationincidents', 'dave-leak', { ...spec, requestedBy: 'dave' });
    await reconcileIncident(deps, denied);
    expect(denied.status?.conditions?.[0]).toMatchObject({ type: 'Denied', reason: 'MissingVerb' });
    expect(denied.status?.conditions?.[0]?.message).toContain('may not emergency rotationplaybooks b in namespace');
    expect(denied.status?.workflowId).toBeUndefined();

    const leak = cluster.add('rotationincidents', 'leak', { ...spec, requestedBy: 'alice' });
    await reconcileIncident(deps, leak);
    expect(leak.status).toMatchObject({ workflowId: rotationIncidentId(namespace, 'leak') });
    expect(leak.status?.conditions?.[0]).toMatchObject({ type: 'Accepted' });
    const h = ts.server().client.workflow.getHandle(leak.status?.workflowId ?? '');
    expect(((await h.result()) as IncidentReport).counts.rotated).toBe(2);
    for (const p of specs) expect(storeOf(p).state).toMatchObject({ current: 'v2', revoked: ['v1'] });
    await reconcileIncident(deps, leak);
    expect(leak.status?.conditions?.at(-1)).toMatchObject({ type: 'Succeeded', reason: 'Rotated' });
  });

  it('steers an incident only for a user holding emergency on all its playbooks, and only the run started for it', async () => {
    const { cluster, deps } = await controllerOver();
    // An action's attestation is checked against the worker's clock, which the test server does not skip.
    const acting = { ...deps, now: () => new Date() };
    const steer = (name: string, approvedBy: string, incidentRef: string, action: string) =>
      cluster.add('rotationapprovals', name, { incidentRef, action, approvedBy });
    const leak = cluster.add('rotationincidents', 'steered', {
      playbookRefs: ['a', 'b'],
      reason: 'leak',
      compromised: true,
      concurrency: 1,
      requestedBy: 'alice',
    });
    const waiting = steer('early', 'alice', 'steered', 'pause');
    await reconcileApproval(acting, waiting);
    expect(waiting.status).toBeUndefined(); // the incident has not started: it waits
    await reconcileIncident(deps, leak);
    const h = ts.server().client.workflow.getHandle(leak.status?.workflowId ?? '');

    const daves = steer('dave-pause', 'dave', 'steered', 'pause');
    await reconcileApproval(acting, daves);
    expect(daves.status?.conditions?.[0]).toMatchObject({ type: 'Denied', reason: 'MissingVerb' });
    expect(daves.status?.conditions?.[0]?.message).toContain('needs the verb emergency on rotationplaybooks b');

    // A status pointing at another run (whoever may write status could): rotor acts on none but its own.
    const other = cluster.add('rotationincidents', 'other', { ...(leak.spec as object) });
    other.status = { workflowId: h.workflowId };
    const misled = steer('misled', 'alice', 'other', 'abort');
    await reconcileApproval(acting, misled);
    expect(misled.status?.conditions?.[0]).toMatchObject({ type: 'Denied', reason: 'NotThisIncident' });

    await reconcileApproval(acting, waiting);
    expect(waiting.status?.conditions?.[0]).toMatchObject({ type: 'Accepted', reason: 'Sent' });
    await until(h, 'paused with nothing running', (s) => s.paused && s.counts.running === 0);
    const aborted = steer('abort', 'alice', 'steered', 'abort');
    await reconcileApproval(acting, aborted);
    expect(aborted.status?.conditions?.[0]).toMatchObject({ type: 'Accepted' });
    expect(((await h.result()) as IncidentReport).aborted).toMatchObject({ by: 'alice' });
    const status = await h.query(incidentStatusQuery);
    expect(status.refused).toBeUndefined();
  });
});
