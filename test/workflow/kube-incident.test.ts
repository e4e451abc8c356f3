/**
 * Incidents under `identity: kubernetes` (issue 24), on Temporal's time-skipping server: a
 * RotationIncident's rotations start only with rotor's controller's attestation of each target's
 * rotation, bound to the incident's run and RotationIncident. The attacker is a Temporal client
 * holding the codec key: it starts an incident without attestations, copies an incident's
 * attestations onto a rotation started directly, onto an incident of its own, onto another target,
 * and starts an incident long after its attestations were made. Each rotation is refused at plan
 * and its store is untouched. The admission activities are the real ones (a key made for the
 * test); the stores are fakes. Last, rotor's controller's reconcile of RotationIncidents over a fake
 * management cluster (its RBAC answers) starts an incident the worker takes. Against the real
 * stack, apiserver and controller: test/integration/kube-incident.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attest, attestedInput } from '../../adapters/controller-attestation';
import { childInput, incidentRotationId } from '../../core/incident/child-input';
import type { IncidentInput, IncidentReport, IncidentTarget } from '../../core/incident/types';
import type { Playbook } from '../../core/playbook/schema';
import { kubeIdentityActivities } from '../helpers/kube-activities';
import { testPlaybook } from '../helpers/playbooks';
import type { RotorObject, RotorPlural, RotorResources, RotorStatus } from '../../adapters/kubernetes/rotor-resources';
import { reconcileIncident, rotationIncidentId } from '../../workers/controller/incidents';
import type { WorkflowHandle } from '@temporalio/client';
import type { IncidentStatus } from '../../core/incident/types';
import { incidentStatusQuery, pauseIncidentSignal, resumeIncidentSignal } from '../../workflows/incident/definitions';
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
    await h.signal(pauseIncidentSignal, { by: 'alice' });
    await ts.server().sleep(15 * MINUTE);
    expect((await h.query(incidentStatusQuery)).counts).toMatchObject({ rotated: 1, pending: 1 });
    await h.signal(resumeIncidentSignal, { by: 'alice' });
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({ outcome: 'rotated', counts: { rotated: 2 } });
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

describe("rotor's controller and RotationIncidents", () => {
  it('starts the incident of a user holding emergency on every playbook; the worker takes its attestations', async () => {
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
});
