/**
 * One incident, many rotations (issue 22): incidentWorkflow on the time-skipping server, starting
 * real rotationWorkflow children whose store activities are fakes (test/helpers/fake-store.ts).
 * Each rotation is made to take workflow time (its create step meets a 20 s store outage), so
 * what ran at once is read from the fake stores' call times, not from the incident's own account.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { rotationWorkflowId } from '../../core/ids';
import type { IncidentInput, IncidentReport, IncidentStatus } from '../../core/incident/types';
import type { Playbook, PlaybookInput } from '../../core/playbook/schema';
import { abortUpdate } from '../../workflows/definitions';
import {
  abortIncidentUpdate,
  backendThrottledSignal,
  incidentStatusQuery,
  pauseIncidentSignal,
  resumeIncidentSignal,
} from '../../workflows/incident/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { MINUTE, failureOf, statusOf, until, useTimeSkipping } from '../helpers/time-skipping';
import type { FakeStore } from '../helpers/fake-store';

const ts = useTimeSkipping();

/** A playbook with a store location of its own in `region` (a Secrets Manager backend per region). */
function playbookIn(region: string, spec: Partial<PlaybookInput['spec']> = {}): Playbook {
  return testPlaybook({ type: 'aws', secretId: `rotor-test/incident-${randomUUID().slice(0, 8)}`, region }, spec);
}

/** Each rotation's create meets a store outage of 20 s from its first attempt: it runs ~30 s of workflow time. */
function slowStores(playbooks: Playbook[]): FakeStore[] {
  return playbooks.map((p) => {
    const store = ts.storeOf(rotationWorkflowId(p.spec.secret.name));
    store.state.outageFor.createPendingVersion = 20_000;
    return store;
  });
}

async function startIncident(playbooks: Playbook[], o: Partial<IncidentInput> = {}) {
  const input: IncidentInput = {
    reason: 'key leaked',
    requestedBy: 'oncall@test',
    compromised: true,
    selection: 'test',
    targets: playbooks.map((playbook) => ({ playbook, playbookFile: `${playbook.metadata.name}.yaml` })),
    concurrency: 10,
    perBackend: 10,
    ...o,
  };
  return ts.server().client.workflow.start('incidentWorkflow', {
    taskQueue: ts.taskQueue,
    workflowId: `incident/t-${randomUUID().slice(0, 8)}`,
    args: [input],
  });
}

const incidentStatus = (h: WorkflowHandle) => h.query<IncidentStatus>(incidentStatusQuery);

async function untilIncident(h: WorkflowHandle, what: string, ok: (s: IncidentStatus) => boolean) {
  let last: IncidentStatus | undefined;
  for (let i = 0; i < 300; i++) {
    last = await incidentStatus(h).catch(() => undefined);
    if (last && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the incident never reached ${what}; last counts ${JSON.stringify(last?.counts)}`);
}

/** [first store call, last store call] of each rotation, in workflow time. */
const spans = (stores: FakeStore[]) =>
  stores.map((s) => {
    const at = s.calls.map((c) => c.at);
    return { from: Math.min(...at), to: Math.max(...at) };
  });

/** The most spans open at one instant (a span ending when another starts does not overlap it). */
function peak(ss: { from: number; to: number }[]): number {
  return Math.max(...ss.map((s) => ss.filter((o) => o.from <= s.from && s.from < o.to).length));
}

describe('incidentWorkflow', () => {
  it('never runs more than `concurrency` rotations at once, nor more than `perBackend` on one backend', async () => {
    const east = [1, 2, 3].map(() => playbookIn('us-east-1'));
    const west = [1, 2, 3].map(() => playbookIn('eu-west-1'));
    const eastStores = slowStores(east);
    const westStores = slowStores(west);
    const h = await startIncident([...east, ...west], { concurrency: 3, perBackend: 2 });
    const report = (await h.result()) as IncidentReport;
    expect(report.outcome).toBe('rotated');
    expect(report.counts).toMatchObject({ rotated: 6, running: 0, pending: 0 });
    const all = [...eastStores, ...westStores];
    for (const s of all) expect(s.state).toMatchObject({ current: 'v2', revoked: ['v1'], finalized: true });
    // The bounds were reached, not merely respected by rotations that never overlapped.
    expect(peak(spans(all))).toBe(3);
    expect(peak(spans(eastStores))).toBe(2);
    expect(peak(spans(westStores))).toBe(2);
  });

  it('pause holds new starts (the running rotation goes on); resume starts the rest', async () => {
    const playbooks = [1, 2, 3].map(() => playbookIn('us-east-1'));
    const stores = slowStores(playbooks);
    const h = await startIncident(playbooks, { concurrency: 1 });
    await untilIncident(h, 'one running', (s) => s.counts.running === 1);
    await h.signal(pauseIncidentSignal, { by: 'oncall@test', reason: 'database struggling' });
    await ts.server().sleep(10 * MINUTE);
    const paused = await incidentStatus(h);
    expect(paused).toMatchObject({ paused: true, counts: { rotated: 1, running: 0, pending: 2 } });
    expect(stores.map((s) => s.calls.length > 0)).toEqual([true, false, false]);
    await h.signal(resumeIncidentSignal, { by: 'oncall@test' });
    const report = (await h.result()) as IncidentReport;
    expect(report.rotated).toEqual(playbooks.map((p) => p.spec.secret.name));
  });

  it('abort cancels the running rotations, each rolls back; the ones not started are reported so', async () => {
    // Not compromised: each emergency waits at its approval gate, before the point of no return.
    const playbooks = [1, 2, 3].map(() => playbookIn('us-east-1', { approval: { beforeRevoke: true } }));
    const stores = playbooks.map((p) => ts.storeOf(rotationWorkflowId(p.spec.secret.name)));
    const h = await startIncident(playbooks, { concurrency: 2, compromised: false });
    for (const p of playbooks.slice(0, 2)) {
      const child = ts.server().client.workflow.getHandle(rotationWorkflowId(p.spec.secret.name));
      await until(child, 'the approval gate', (s) => s.awaitingApproval);
    }
    const answer = await h.executeUpdate(abortIncidentUpdate, { args: [{ by: 'oncall@test', reason: 'wrong keys' }] });
    expect(answer).toContain('2 running rotation(s) cancelled');
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({
      outcome: 'aborted',
      aborted: { by: 'oncall@test', reason: 'wrong keys' },
      rotated: [],
      notStarted: [playbooks[2]?.spec.secret.name],
    });
    expect(report.rolledBack.map((r) => r.secret)).toEqual(playbooks.slice(0, 2).map((p) => p.spec.secret.name));
    for (const r of report.rolledBack) expect(r.why).toContain('rolled back');
    for (const s of stores.slice(0, 2)) expect(s.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
    expect(stores[2]?.calls).toEqual([]);
    for (const p of playbooks.slice(0, 2)) {
      const child = ts.server().client.workflow.getHandle(rotationWorkflowId(p.spec.secret.name));
      expect((await statusOf(child)).phase).toBe('rolled-back');
    }
    await expect(h.executeUpdate(abortIncidentUpdate, { args: [{ by: 'again' }] })).rejects.toThrow();
    await ts.record(h, 'incident-aborted');
  });

  it('a secret already rotating is skipped, not failed; a rollback is reported with why', async () => {
    const busy = playbookIn('us-east-1', { approval: { beforeRevoke: true } });
    const ok = playbookIn('us-east-1');
    const failing = playbookIn('eu-west-1', {
      clusters: [{ name: 'cluster-a', delivery: 'push', namespace: 'payments', secretName: 'db' }],
    });
    const running = await ts.start(busy);
    await until(running.h, 'the approval gate', (s) => s.awaitingApproval);
    ts.storeOf(rotationWorkflowId(failing.spec.secret.name)).state.gateFails = ['promote'];
    // Not compromised: a failing consumer gate stops the rotation (a compromised one only warns).
    const h = await startIncident([busy, ok, failing], { compromised: false });
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      rotated: [ok.spec.secret.name],
      skipped: [{ secret: busy.spec.secret.name, why: expect.stringContaining('already running') as string }],
      rolledBack: [{ secret: failing.spec.secret.name, why: expect.stringContaining('promote gate failed') as string }],
      needsAttention: [],
      counts: { rotated: 1, skipped: 1, 'rolled-back': 1 },
    });
    await ts.record(h, 'incident-rolled-back');
    // The running rotation was not touched by the incident.
    expect((await statusOf(running.h)).awaitingApproval).toBe(true);
    await running.h.executeUpdate(abortUpdate, { args: [{ by: 'test' }] });
  });

  it('a throttled rotation backs its backend off, then starts again and rotates; other backends go on', async () => {
    const [first, second, elsewhere] = [playbookIn('us-east-1'), playbookIn('us-east-1'), playbookIn('eu-west-1')];
    const [a, b, c] = [first, second, elsewhere].map((p) => ts.storeOf(rotationWorkflowId(p?.spec.secret.name ?? '')));
    if (!first || !second || !elsewhere || !a || !b || !c) throw new Error('three playbooks expected');
    a.state.throttledCreates = 1;
    const h = await startIncident([first, second, elsewhere], { concurrency: 2, perBackend: 1 });
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({ outcome: 'rotated', counts: { rotated: 3 } });
    const creates = a.calls.filter((x) => x.name === 'createPendingVersion').map((x) => x.at);
    expect(creates).toHaveLength(2);
    const throttledAt = creates[0] ?? 0;
    // Its backend backs off 30 s: the throttled one starts again only then, the other one there after it.
    expect((creates[1] ?? 0) - throttledAt).toBeGreaterThanOrEqual(30_000);
    expect(b.firstAt('planRotation') - throttledAt).toBeGreaterThanOrEqual(30_000);
    // The other region did not wait.
    expect(c.firstAt('planRotation')).toBeLessThan(throttledAt + 30_000);
    expect(a.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
    const details = await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(details.currentDetails).toContain('| rotated | 3 |');
  });

  it("a running rotation's reported throttle is counted and holds its backend; a report about another workflow changes nothing", async () => {
    const [slow, next] = [playbookIn('us-east-1'), playbookIn('us-east-1')];
    if (!slow || !next) throw new Error('two playbooks expected');
    slowStores([slow]);
    const h = await startIncident([slow, next], { concurrency: 1 });
    await untilIncident(h, 'one running', (s) => s.counts.running === 1);
    await h.signal(backendThrottledSignal, { workflowId: 'rotate/not-of-this-incident', activity: 'promote' });
    await h.signal(backendThrottledSignal, {
      workflowId: rotationWorkflowId(slow.spec.secret.name),
      activity: 'createPendingVersion',
    });
    const held = await untilIncident(h, 'the throttle counted', (s) => Object.keys(s.throttles ?? {}).length > 0);
    expect(held.throttles).toEqual({ 'secretsmanager/us-east-1': 1 });
    expect(held.backingOff.map((b) => b.backend)).toEqual(['secretsmanager/us-east-1']);
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({
      outcome: 'rotated',
      counts: { rotated: 2 },
      throttles: { 'secretsmanager/us-east-1': 1 },
    });
  });

  it('a rotation stuck past its point of no return is reported as needing attention, and the incident ends', async () => {
    const [stuck, ok] = [playbookIn('us-east-1'), playbookIn('eu-west-1')];
    if (!stuck || !ok) throw new Error('two playbooks expected');
    const store = ts.storeOf(rotationWorkflowId(stuck.spec.secret.name));
    store.state.failRevokeUntil = Number.MAX_SAFE_INTEGER;
    const h = await startIncident([stuck, ok]);
    const report = (await h.result()) as IncidentReport;
    expect(report).toMatchObject({
      outcome: 'needs-attention',
      rotated: [ok.spec.secret.name],
      needsAttention: [
        {
          secret: stuck.spec.secret.name,
          why: expect.stringMatching(
            /^still running past its point of no return: revoke keeps failing: .*access denied/,
          ) as string,
        },
      ],
    });
    // The stuck rotation goes on retrying on its own; the incident did not end it.
    const child = ts.server().client.workflow.getHandle(rotationWorkflowId(stuck.spec.secret.name));
    expect((await child.describe()).status.name).toBe('RUNNING');
    await child.terminate('test cleanup');
  });

  it('a malformed input fails as InvalidIncident naming each field, and starts nothing', async () => {
    const ok = playbookIn('us-east-1');
    const broken = { ...ok, spec: { ...ok.spec, secret: { store: ok.spec.secret.store } } } as unknown as Playbook;
    const failure = await failureOf(await startIncident([ok, broken], { concurrency: 0 }));
    expect(failure.type).toBe('InvalidIncident');
    expect(failure.message).toContain('targets.1.playbook.spec.secret.name:');
    expect(failure.message).toContain('concurrency:');
    const twice = await failureOf(await startIncident([ok, ok]));
    expect(twice.message).toContain('targets: name one secret twice');
    expect(ts.storeOf(rotationWorkflowId(ok.spec.secret.name)).calls).toEqual([]);
  });

  it('continues as new past its history bound and keeps every record', async () => {
    const playbooks = [1, 2, 3, 4, 5].map(() => playbookIn('us-east-1'));
    const h = await startIncident(playbooks, { concurrency: 1, maxHistoryEvents: 12 });
    const report = (await h.result()) as IncidentReport;
    expect(report.outcome).toBe('rotated');
    expect(report.counts).toMatchObject({ rotated: 5, pending: 0, running: 0 });
    expect(report.rotated.sort()).toEqual(playbooks.map((p) => p.spec.secret.name).sort());
    const first = await ts.server().client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect((await incidentStatus(h)).continuations).toBeGreaterThanOrEqual(2);
    await ts.record(h, 'incident-continued-first', h.firstExecutionRunId);
  });
});
