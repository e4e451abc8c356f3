/**
 * `identity: kubernetes` in the rotation workflow's handlers (issue 24), on Temporal's
 * time-skipping test server: the worker admits a run only with a RotationRequest's attestation and
 * takes approve, abort, skip-soak and retry only with an action attestation of rotor's controller
 * for that action, user and rotation, each attestation once. The attacker is a Temporal client
 * holding the codec key: it sends actions without an attestation, with a made-up one, and copies
 * of the controller's own, which it can read from the history. The admission and identity
 * activities are the real ones (with a key made for the test); the stores are fakes. The same
 * refusals against the real stack, through the real controller: test/integration/kube-identity.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { actionClaim, attest, attestedInput } from '../../adapters/controller-attestation';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { OperatorAction, RotationStatus } from '../../core/status';
import type { AuditEvent } from '../../workflows/audit';
import { abortUpdate, approveUpdate, retrySignal, skipSoakSignal } from '../../workflows/definitions';
import { kubeIdentityActivities } from '../helpers/kube-activities';
import { testPlaybook } from '../helpers/playbooks';
import { rejection } from '../helpers/rejection';
import { DAY, failureOf, fakeStoreRef, HOUR, reach, statusOf, until, useTimeSkipping } from '../helpers/time-skipping';

/** The controller's keys (derived from a fingerprint key made for the test), which the attacker lacks. */
const { keys, activities } = kubeIdentityActivities();
const ts = useTimeSkipping({ activities });

/** Each test's own store location: a run the test ends by terminating leaves its store lock behind. */
const storeRef = (name: string) => ({ ...fakeStoreRef, secretId: `rotor-test/kube-identity-${name}` });

const requested = (playbook: Playbook) => ({
  playbook,
  trigger: 'manual' as const,
  requestedBy: 'alice',
  namespace: 'orders',
});

/** Starts `playbook` as rotor's controller does for alice's RotationRequest: with its attestation. */
async function startAttested(playbook: Playbook) {
  const input = requested(playbook);
  const workflowId = rotationWorkflowId(playbook.spec.secret.name);
  const claim = {
    kind: 'request' as const,
    workflowId,
    requestUid: randomBytes(8).toString('hex'),
    input: attestedInput(input),
  };
  // The worker compares it with the run's start on the server's clock, which skips ahead.
  const attestation = attest(keys, claim, await ts.server().currentTimeMs());
  return ts.start(playbook, { ...input, attestation });
}

/** What rotor's controller sends for a RotationApproval of `action` by `by` on the run `h`. */
async function vouched(h: WorkflowHandle, action: string, by: string): Promise<OperatorAction> {
  const op = { by };
  const firstRunId = (await h.describe()).raw.workflowExecutionInfo?.firstRunId ?? '';
  return { ...op, attestation: attest(keys, actionClaim(action, h.workflowId, firstRunId, op), Date.now()) };
}

/** Waits until the run has refused `n` signals; its status then. */
async function refusedSignals(h: WorkflowHandle, n: number): Promise<RotationStatus> {
  await until(h, `${n} refused signals`, (s) => (s.refusedSignals?.count ?? 0) >= n);
  const status = await statusOf(h);
  expect(status.refusedSignals?.count).toBe(n);
  return status;
}

/** The status without what a refused signal adds (its count). */
const apartFromRefusals = ({ refusedSignals: _, ...s }: RotationStatus) => s;

const refusals = (audit: AuditEvent[]) =>
  audit.filter((e) => e.event === 'operator-action' && String(e.detail).startsWith('refused')).map((e) => e.detail);

describe('identity: kubernetes in the rotation workflow', () => {
  it('refuses a start without the controller’s attestation at plan: the store is untouched', async () => {
    const { h, store } = await ts.start(testPlaybook(fakeStoreRef), { requestedBy: 'alice', namespace: 'orders' });
    const failure = await failureOf(h);
    expect(failure.type).toBe('PolicyRefused');
    expect(failure.message).toContain("not started through rotor's controller");
    expect(store.names()).toEqual([]);
    expect(store.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
  });

  it('takes each attested action once; unattested, made-up and replayed ones are refused and change nothing', async () => {
    const now = await ts.server().currentTimeMs();
    const { h, store, audit } = await startAttested(
      testPlaybook(storeRef('actions'), { soak: '1h', approval: { beforeRevoke: true } }),
    );
    // Revoke fails for a long while: past approval the run waits in needs-attention, alive.
    store.state.failRevokeUntil = now + 30 * DAY;
    await reach(h, 'soak');
    const soaking = await statusOf(h);

    // skip-soak: without an attestation, then bob's through the controller, then bob's again.
    await h.signal(skipSoakSignal, { by: 'bob' });
    expect(apartFromRefusals(await refusedSignals(h, 1))).toEqual(apartFromRefusals(soaking));
    const skipSoak = await vouched(h, 'skip-soak', 'bob');
    await h.signal(skipSoakSignal, skipSoak);
    await until(h, 'the approval gate', (s) => s.awaitingApproval);
    const gate = await statusOf(h);
    await h.signal(skipSoakSignal, skipSoak);
    const refusedTwice = await refusedSignals(h, 2);
    expect(apartFromRefusals(refusedTwice)).toEqual(apartFromRefusals(gate));
    expect(refusals(audit).at(-1)).toContain('its attestation was used already by this rotation');

    // approve: none, a made-up one, one for another action, the spent skip-soak, then bob's.
    const forged = await rejection(h.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] }));
    expect(forged.type).toBe('NotFromController');
    expect(forged.message).toContain("it carries no attestation from rotor's controller");
    const madeUp = { by: 'bob', attestation: { keyId: keys.newest.id, issuedAt: Date.now(), mac: 'AAAA' } };
    expect((await rejection(h.executeUpdate(approveUpdate, { args: [madeUp] }))).type).toBe('NotFromController');
    const retryAsApproval = await rejection(
      h.executeUpdate(approveUpdate, { args: [await vouched(h, 'retry', 'bob')] }),
    );
    expect(retryAsApproval.message).toContain('does not vouch for this action');
    const spentAsApproval = await rejection(h.executeUpdate(approveUpdate, { args: [skipSoak] }));
    expect(spentAsApproval.message).toContain('its attestation was used already');
    expect(await statusOf(h)).toEqual(refusedTwice);
    expect(store.names()).not.toContain('revokeVersion');

    const approve = await vouched(h, 'approve', 'bob');
    expect(await h.executeUpdate(approveUpdate, { args: [approve] })).toBe('approved by bob');
    await reach(h, 'needs-attention');
    const attention = await statusOf(h);
    const revokes = store.calls.filter((c) => c.name === 'revokeVersion').length;

    // The approval replayed: refused as NotFromController before "already approved".
    const replayed = await rejection(h.executeUpdate(approveUpdate, { args: [approve] }));
    expect(replayed.type).toBe('NotFromController');
    expect(replayed.message).toContain('approve by bob refused, nothing was changed: its attestation was used already');
    // abort: the approval's attestation is no abort's.
    const abortCopy = await rejection(h.executeUpdate(abortUpdate, { args: [approve] }));
    expect(abortCopy.type).toBe('NotFromController');

    // retry: alice's through the controller runs revoke again at once; its copy does not.
    const retry = await vouched(h, 'retry', 'alice');
    await h.signal(retrySignal, retry);
    await until(h, 'the retried revoke', () => store.calls.filter((c) => c.name === 'revokeVersion').length > revokes);
    const retried = store.calls.filter((c) => c.name === 'revokeVersion').length;
    expect(retried).toBe(revokes + 1);
    const afterRetry = await statusOf(h);
    await h.signal(retrySignal, retry);
    expect(apartFromRefusals(await refusedSignals(h, 3))).toEqual(apartFromRefusals(afterRetry));
    expect(store.calls.filter((c) => c.name === 'revokeVersion')).toHaveLength(retried);
    expect(store.state).toMatchObject({ current: 'v2', revoked: [] });
    expect(attention.phase).toBe('needs-attention');

    const taken = audit.filter((e) => e.event === 'operator-action' && !String(e.detail).startsWith('refused'));
    expect(taken.map((e) => [e.detail, e.by])).toEqual([
      ['skip-soak', 'bob'],
      ['approve', 'bob'],
      ['retry', 'alice'],
    ]);
    await h.terminate('test done');
  });

  it('a continuation keeps the attestations taken: a copy sent to the new run is refused', async () => {
    const now = await ts.server().currentTimeMs();
    const playbook = testPlaybook(storeRef('continued'), {
      approval: { beforeRevoke: true },
      needsAttention: { maxHistoryEvents: 100 },
    });
    const { h, store, audit } = await startAttested(playbook);
    store.state.failRevokeUntil = now + 30 * DAY;
    await until(h, 'the approval gate', (s) => s.awaitingApproval);
    const firstRunId = (await h.describe()).runId;
    await h.executeUpdate(approveUpdate, { args: [await vouched(h, 'approve', 'bob')] });
    await reach(h, 'needs-attention');
    const retry = await vouched(h, 'retry', 'alice');
    await h.signal(retrySignal, retry);
    await until(h, 'the retry taken', () => audit.some((e) => e.detail === 'retry'));
    // 15-minute retries for 6 hours: more than 100 events, so the run continues as new.
    await ts.server().sleep(6 * HOUR);
    const continued = ts.server().client.workflow.getHandle(h.workflowId);
    expect((await continued.describe()).runId).not.toBe(firstRunId);
    const before = await statusOf(continued);
    await continued.signal(retrySignal, retry);
    await until(
      continued,
      'the copy refused',
      (s) => (s.refusedSignals?.count ?? 0) > (before.refusedSignals?.count ?? 0),
    );
    expect(refusals(audit).at(-1)).toContain('its attestation was used already by this rotation');
    // A new retry through the controller is taken by the continuation (vouched for the first run).
    const retries = audit.filter((e) => e.detail === 'retry').length;
    await continued.signal(retrySignal, await vouched(continued, 'retry', 'alice'));
    await until(continued, 'the new retry taken', () => audit.filter((e) => e.detail === 'retry').length > retries);
    await continued.terminate('test done');
  });

  it('an abort through the controller is taken: the run rolls back; the copy meets a closed run', async () => {
    const { h, store } = await startAttested(testPlaybook(storeRef('abort'), { approval: { beforeRevoke: true } }));
    await until(h, 'the approval gate', (s) => s.awaitingApproval);
    const abort = await vouched(h, 'abort', 'alice');
    expect(await h.executeUpdate(abortUpdate, { args: [abort] })).toBe('aborting: compensation runs now');
    const failure = await failureOf(h);
    expect(failure.type).toBe('RotationAborted');
    expect(store.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
    await expect(h.executeUpdate(abortUpdate, { args: [abort] })).rejects.toThrow();
  });
});
