/**
 * Incidents under `identity: kubernetes` (issue 24) against the stack: a `RotationIncident` in the
 * management cluster (cluster-a) asks for emergency rotations of several `RotationPlaybook`s of
 * its namespace; rotor's controller (the chart's ClusterRole, a client certificate of its own)
 * checks the `emergency` verb of the requester on each with a SubjectAccessReview and starts the
 * incident with its attestation of each rotation. From the attacker's positions: a user claiming
 * another requester (refused by the apiserver), a user without the verb (Denied, nothing started),
 * and a Temporal client holding rotor's codec key that starts an incident without attestations,
 * copies a real incident's input under another id or again under its own, and copies one
 * target's attestation onto a rotation started directly. Every Vault entry is compared before and
 * after; the genuine incident shows the comparison catches a rotation. Then steering a running
 * incident: the codec-key client's resume and abort (without an attestation, or with a copy of the
 * controller's pause) are refused while it is paused and nothing changes; dave's resume through
 * the apiserver is Denied; alice pauses, resumes and aborts with `rotor incident … --via-kube`.
 *
 *   alice  orders: may create RotationIncidents and RotationApprovals, holds `emergency` on the playbooks
 *   dave   orders: may create RotationIncidents and RotationApprovals, holds no verb
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../../adapters/keys';
import { childInput, incidentRotationId } from '../../core/incident/child-input';
import type { IncidentInput, IncidentReport, IncidentStatus } from '../../core/incident/types';
import type { OperatorAction } from '../../core/status';
import {
  abortIncidentUpdate,
  incidentStatusQuery,
  pauseIncidentSignal,
  resumeIncidentSignal,
} from '../../workflows/incident/definitions';
import { rejection } from '../helpers/rejection';
import { resourceGroup } from '../../core/resources';
import { applyRotorResources } from '../../dev/local-stack/kube/rotor-resources';
import type { Controller } from '../../workers/controller/controller';
import { rotationIncidentId } from '../../workers/controller/incidents';
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
import { httpGate } from '../helpers/http-gate';
import type { HttpGate } from '../helpers/http-gate';
import { runRotor } from '../helpers/cli';
import { startKubeController } from '../helpers/kube-controller';
import type { KubeController } from '../helpers/kube-controller';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { until } from '../helpers/until';
import { failureOfRun } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const cluster = 'cluster-a';
const admin = kubeconfigFor(cluster);
const hex = randomBytes(4).toString('hex');
const [alice, dave] = ['alice', 'dave'].map((n) => `${n}-${hex}`) as [string, string];
const scratch = mkdtempSync(join(tmpdir(), 'rotor-kube-incident-'));
const prefix = `crd/incident-${hex}`;
const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'] as const;

let orders: string;
const kc: Record<string, KubeConfig> = {};
let tw: TestWorker;
let controller: Controller;
let controllerIdentity: KubeController['identity'] | undefined;
const stores: Record<(typeof names)[number], TestStore> = {} as never;
const secretOf = (p: string) => `incident-${p}-${hex}`;
/** Every playbook's canary calls it: open, until the steering tests hold the incident's rotations there. */
let gate: HttpGate;

/** Every Vault entry of the test as it stands. */
async function snapshots(): Promise<Record<string, StoreSnapshot>> {
  const out: Record<string, StoreSnapshot> = {};
  for (const [k, s] of Object.entries(stores)) out[k] = await s.snapshot();
  return out;
}

/** The input the incident `h` was started with, as its history holds it (the attacker holds the codec key). */
async function startInput(h: WorkflowHandle): Promise<IncidentInput> {
  const history = await h.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return decodeFromPayloadsAtIndex<IncidentInput>(tw.client.options.loadedDataConverter, 0, started?.input?.payloads);
}

/** Starts `input` as incident `workflowId` from the attacker's client; its report. */
async function forgedIncident(workflowId: string, input: IncidentInput): Promise<IncidentReport> {
  const h = await tw.client.workflow.start('incidentWorkflow', { taskQueue: tw.taskQueue, workflowId, args: [input] });
  return (await h.result()) as IncidentReport;
}

/** Every rotation of the report refused at plan, each naming `why`. */
function allRefused(report: IncidentReport, secrets: string[], why: string) {
  expect(report.rotated).toEqual([]);
  expect(report.needsAttention.map((r) => r.secret).sort()).toEqual([...secrets].sort());
  for (const r of report.needsAttention) {
    expect(r.why).toContain('PolicyRefused');
    expect(r.why).toContain(why);
  }
}

beforeAll(async () => {
  gate = await httpGate();
  await applyRotorResources(admin);
  orders = await freshNamespace(admin, 'crd-incident');
  for (const name of [alice, dave]) kc[name] = await kubeUser(cluster, name);
  const objects = (resources: string[], verbs: string[]) => ({ apiGroups: [resourceGroup], resources, verbs });
  const author = objects(['rotationplaybooks', 'rotationincidents', 'rotationapprovals'], ['get', 'list', 'create']);
  await grant(admin, orders, alice, [author, objects(['rotationplaybooks'], ['emergency'])]);
  await grant(admin, orders, dave, [author]);
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
        orders: {
          namespace: orders,
          pathPrefix: prefix,
          allow: { canaries: { http: { hosts: ['127.0.0.1'], allowPlainHttp: true } } },
        },
      },
      { identity: 'kubernetes' },
    ),
    controllerUser: `rotor-controller-${hex}`,
    namespaces: [orders],
    fingerprintKeys: loadKeyring('ROTOR_FINGERPRINT_KEY', env),
  }));
  for (const p of names) {
    stores[p] = await vaultTestStore(randomBytes(16).toString('hex'), undefined, `${prefix}/`);
    await createRotorObject(kc[alice]!, 'rotationplaybooks', orders, p, {
      secret: { name: secretOf(p), store: stores[p].store },
      credential: { kind: 'random', length: 32 },
      canaries: [{ type: 'http', name: 'held-at-will', url: gate.url, timeout: '120s' }],
    });
  }
}, 120_000);

afterAll(async () => {
  await controller?.stop();
  await tw?.close();
  if (orders)
    await admin
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: orders })
      .catch(() => undefined);
  await controllerIdentity?.remove();
  await gate?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** The incident alice's RotationIncident started, for the attacks that copy it. */
let genuine: WorkflowHandle | undefined;

describe('RotationIncident through the apiserver', () => {
  it('refuses, at the apiserver, an incident claiming another requester', async () => {
    const forged = await apiRefusal(
      createRotorObject(kc[dave]!, 'rotationincidents', orders, 'as-alice', {
        playbookRefs: ['a'],
        reason: 'leak',
        requestedBy: alice,
      }),
    );
    expect(forged.code).toBe(403);
    expect(forged.message).toContain(`spec.requestedBy must be your own user name, ${dave}`);
  });

  it('denies an incident to a user without the emergency verb; nothing starts, no store changes', async () => {
    const before = await snapshots();
    await createRotorObject(kc[dave]!, 'rotationincidents', orders, 'no-verb', {
      playbookRefs: ['a', 'b'],
      reason: 'leak',
      compromised: true,
      requestedBy: dave,
    });
    const { condition } = await waitForCondition(admin, 'rotationincidents', orders, 'no-verb', ['Denied', 'Accepted']);
    expect(condition).toMatchObject({ type: 'Denied', reason: 'MissingVerb' });
    expect(condition.message).toContain(`user ${dave} may not emergency rotationplaybooks a, b`);
    await expect(tw.client.workflow.getHandle(rotationIncidentId(orders, 'no-verb')).describe()).rejects.toThrow();
    expect(await snapshots()).toEqual(before);
  }, 60_000);

  it('rotates every playbook of alice’s RotationIncident (rotor incident request), and only those; the status says so', async () => {
    const before = await snapshots();
    const file = join(scratch, 'alice.kubeconfig');
    writeFileSync(file, kc[alice]!.exportConfig(), { mode: 0o600 });
    const where = ['-n', orders, '--context', cluster, '--json'];
    const reason = ['--reason', 'keys in a public repository', '--compromised'];
    const asked = await runRotor({ ...env, KUBECONFIG: file }, 'incident', 'request', 'a', 'b', ...reason, ...where);
    expect(asked.stderr).toBe('');
    expect(asked.code).toBe(0);
    const line = JSON.parse(asked.stdout.trim()) as { kind: string; name: string; condition: string; uiLink: string };
    expect(line).toMatchObject({ kind: 'RotationIncident', condition: 'Accepted' });
    expect(line.uiLink).toContain(encodeURIComponent(rotationIncidentId(orders, line.name)));
    const accepted = await readRotorObject(admin, 'rotationincidents', orders, line.name);
    expect(accepted.spec).toMatchObject({ playbookRefs: ['a', 'b'], requestedBy: alice, compromised: true });
    const done = await waitForCondition(
      admin,
      'rotationincidents',
      orders,
      line.name,
      ['Succeeded', 'RolledBack'],
      240_000,
    );
    expect(done.condition).toMatchObject({ type: 'Succeeded', reason: 'Rotated' });
    expect(done.condition.message).toContain('2 rotated');
    const after = await snapshots();
    expect(after['a']).not.toEqual(before['a']);
    expect(after['b']).not.toEqual(before['b']);
    expect(after['c']).toEqual(before['c']);
    genuine = tw.client.workflow.getHandle(done.obj.status?.workflowId ?? '', done.obj.status?.runId);
    const report = (await genuine.result()) as IncidentReport;
    expect(report.rotated.sort()).toEqual([secretOf('a'), secretOf('b')].sort());
  }, 300_000);
});

describe('a Temporal client with the codec key', () => {
  it('cannot start an incident without the controller, nor replay, move or split a real one’s attestations; nothing changes', async () => {
    if (!genuine) throw new Error('the genuine incident did not run');
    const before = await snapshots();
    const copied = await startInput(genuine);
    const secrets = [secretOf('a'), secretOf('b')];

    // Its own incident of orders' playbooks, with no attestation.
    const bare = { ...copied, targets: copied.targets.map(({ attestation: _, ...t }) => t) };
    allRefused(
      await forgedIncident(`incident/${orders}/forged-${hex}`, bare),
      secrets,
      "it carries no attestation from rotor's controller",
    );

    // The real incident's input again, under its own id (it ended): the RotationIncident was used.
    allRefused(await forgedIncident(genuine.workflowId, copied), secrets, 'its attestation was used already by run');

    // The same input under an id of the attacker's.
    allRefused(
      await forgedIncident(`incident/${orders}/mine-${hex}`, copied),
      secrets,
      `serves only a rotation its incident ${genuine.workflowId} starts`,
    );

    // One target's rotation started directly with its vouched input.
    const target = copied.targets[0];
    if (!target) throw new Error('the incident had no target');
    const direct = await tw.client.workflow.start('rotationWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId: incidentRotationId(copied, target),
      args: [childInput(copied, genuine.workflowId, target)],
    });
    const refused = await failureOfRun(tw, direct);
    expect(refused.type).toBe('PolicyRefused');
    expect(refused.message).toContain(`serves only a rotation its incident ${genuine.workflowId} starts`);
    expect(await snapshots()).toEqual(before);
  }, 300_000);
});

/** `rotor incident <args…>` as `user` through the apiserver (their kubeconfig), its JSON line and exit code. */
async function rotorAs(user: string, ...args: string[]) {
  // The stack's cluster is shared: a suite of an older checkout may have applied CRDs without incidentRef since.
  await applyRotorResources(admin);
  const file = join(scratch, `${user}.kubeconfig`);
  writeFileSync(file, kc[user]!.exportConfig(), { mode: 0o600 });
  const run = await runRotor(
    { ...env, KUBECONFIG: file },
    'incident',
    ...args,
    '-n',
    orders,
    '--context',
    cluster,
    '--json',
  );
  expect(run.stderr).toBe('');
  const line = JSON.parse(run.stdout.trim()) as { name: string; condition?: string; reason?: string; message?: string };
  return { code: run.code, line };
}

/** The incident's status once `ok` holds. */
const statusWhen = (h: WorkflowHandle, what: string, ok: (s: IncidentStatus) => boolean) =>
  until(`the incident ${what}`, async () => {
    const s = await h.query(incidentStatusQuery).catch(() => undefined);
    return s && ok(s) ? s : undefined;
  });

/** The first argument of each `signal` the incident took, as its history holds it (the attacker can read it). */
async function signalled(h: WorkflowHandle, signal: string): Promise<OperatorAction[]> {
  const history = await h.fetchHistory();
  const out: OperatorAction[] = [];
  for (const e of history.events ?? []) {
    const a = e.workflowExecutionSignaledEventAttributes;
    if (a?.signalName !== signal) continue;
    out.push(
      await decodeFromPayloadsAtIndex<OperatorAction>(tw.client.options.loadedDataConverter, 0, a.input?.payloads),
    );
  }
  return out;
}

describe('steering a RotationIncident', () => {
  // Enough that some are still pending when the pause lands: resuming lets one through the canary
  // gate, the next waits there, and the ones after it never start.
  const steered = ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'] as const;
  let incident: WorkflowHandle | undefined;
  let name = '';
  const held = () => {
    if (!incident) throw new Error('alice’s paused incident did not start');
    return incident;
  };

  it('pauses alice’s incident through the apiserver (rotor incident pause --via-kube): nothing new starts', async () => {
    const asked = await rotorAs(
      alice,
      'request',
      ...steered,
      '--reason',
      'leak',
      '--compromised',
      '--concurrency',
      '1',
    );
    expect(asked).toMatchObject({ code: 0, line: { condition: 'Accepted' } });
    name = asked.line.name;
    incident = tw.client.workflow.getHandle(rotationIncidentId(orders, name));
    const paused = await rotorAs(alice, 'pause', name, '--via-kube', '--reason', 'look first');
    expect(paused).toMatchObject({ code: 0, line: { condition: 'Accepted', reason: 'Sent' } });
    expect(paused.line.message).toContain(`pause by ${alice} sent to incident ${incident.workflowId}`);
    // The rotation running when it paused may finish; nothing after it starts.
    const s = await statusWhen(incident, 'paused with nothing running', (x) => x.paused && x.counts.running === 0);
    expect(s.counts.pending).toBeGreaterThanOrEqual(3);
    expect(s.refused).toBeUndefined();
  }, 300_000);

  it('refuses a codec-key client’s resume and abort, bare or with a copy of the controller’s pause: counted, nothing changes', async () => {
    const h = held();
    const before = { stores: await snapshots(), counts: (await h.query(incidentStatusQuery)).counts };
    const [pause] = await signalled(h, pauseIncidentSignal.name);
    expect(pause?.attestation?.mac).toBeTruthy();

    await h.signal(resumeIncidentSignal, { by: alice, reason: 'me, honestly' });
    await h.signal(resumeIncidentSignal, { ...pause!, reason: undefined });
    await h.signal(pauseIncidentSignal, pause!);
    // An abort with the spent copy is rejected before it is accepted; a bare one is checked, counted and refused.
    const copied = await rejection(h.executeUpdate(abortIncidentUpdate, { args: [pause!] }));
    expect(copied.type).toBe('NotFromController');
    expect(copied.message).toContain('its attestation was used already by this incident');
    const abort = await rejection(h.executeUpdate(abortIncidentUpdate, { args: [{ by: alice }] }));
    expect(abort.type).toBe('NotFromController');
    expect(abort.message).toContain(`incident abort by ${alice} refused, nothing was changed`);

    const s = await statusWhen(h, 'refused four', (x) => (x.refused?.count ?? 0) >= 4);
    expect(s.refused?.last.map((r) => [r.action, r.why.replace(/:.*/s, '')])).toEqual([
      ['resume', `incident resume by ${alice} refused, nothing was changed`],
      ['resume', `incident resume by ${alice} refused, nothing was changed`],
      ['pause', `incident pause by ${alice} refused, nothing was changed`],
      ['abort', `incident abort by ${alice} refused, nothing was changed`],
    ]);
    expect(s.refused?.last[0]?.why).toContain("it carries no attestation from rotor's controller");
    expect(s.refused?.last[2]?.why).toContain('its attestation was used already by this incident');
    // Time for a resumed incident to start its next rotation, had one been taken.
    await new Promise((r) => setTimeout(r, 5_000));
    const after = await h.query(incidentStatusQuery);
    expect({ paused: after.paused, aborted: after.aborted, counts: after.counts }).toEqual({
      paused: true,
      aborted: undefined,
      counts: before.counts,
    });
    expect(await snapshots()).toEqual(before.stores);
  }, 120_000);

  it('denies dave’s resume through the apiserver (no emergency verb): the incident stays paused', async () => {
    const h = held();
    const before = await snapshots();
    const denied = await rotorAs(dave, 'resume', name, '--via-kube');
    expect(denied.code).not.toBe(0);
    expect(denied.line).toMatchObject({ condition: 'Denied', reason: 'MissingVerb' });
    expect(denied.line.message).toContain(`user ${dave} may not resume RotationIncident ${name}`);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await h.query(incidentStatusQuery)).paused).toBe(true);
    expect(await snapshots()).toEqual(before);
  }, 120_000);

  it('resumes and aborts alice’s incident through the apiserver: it rotates again, then stops; the comparison sees it', async () => {
    const h = held();
    const before = await snapshots();
    const paused = (await h.query(incidentStatusQuery)).counts;
    // One rotation may pass its canary; the next waits there, so the incident cannot end before the abort.
    gate.close(1);
    const resumed = await rotorAs(alice, 'resume', name, '--via-kube');
    expect(resumed).toMatchObject({ code: 0, line: { condition: 'Accepted' } });
    // One more rotated since the pause (a store changed), and the next waits at its canary.
    await statusWhen(
      h,
      'rotating again',
      (x) => !x.paused && x.counts.rotated > paused.rotated && x.counts.running > 0,
    );
    const aborted = await rotorAs(alice, 'abort', name, '--via-kube', '--reason', 'enough');
    expect(aborted).toMatchObject({ code: 0, line: { condition: 'Accepted' } });
    const report = (await h.result()) as IncidentReport;
    expect(report.outcome).toBe('aborted');
    expect(report.aborted).toEqual({ by: alice, reason: 'enough' });
    expect(report.notStarted.length).toBeGreaterThan(0);
    const done = await waitForCondition(admin, 'rotationincidents', orders, name, ['Succeeded', 'RolledBack'], 60_000);
    expect(done.condition).toMatchObject({ type: 'RolledBack', reason: 'Aborted' });
    // What resumed changed a store (so the unchanged checks above could fail); what never started did not.
    const after = await snapshots();
    expect(after).not.toEqual(before);
    for (const p of steered) if (report.notStarted.includes(secretOf(p))) expect(after[p]).toEqual(before[p]);
  }, 300_000);
});
