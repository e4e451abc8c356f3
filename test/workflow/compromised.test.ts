/**
 * A compromised-credential emergency cannot be blocked by a pod in the tenant's namespace (issue
 * 24): a restart-only consumer at plan, or a consumer gate that fails (a pod whose `rotor.dev/reads`
 * line lies), become warnings in the audit trail and the old credential is revoked. The same pods
 * still stop an ordinary rotation. Fake stores and clusters on the time-skipping server; the real
 * plan and gate run against real pods in test/integration (consumer-gate*.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ErrorTypes } from '../../core/failures';
import type { RotationResult } from '../../core/status';
import { testPlaybook } from '../helpers/playbooks';
import { failureOf, fakeStoreRef, useTimeSkipping } from '../helpers/time-skipping';

const ts = useTimeSkipping();
const clusters = [{ name: 'cluster-a', delivery: 'push' as const, namespace: 'payments', secretName: 'db' }];
const envFromPod =
  'cluster-a payments/app-0 (Deployment/app) reads Secret db through envFrom and Deployment/app is not listed under clusters[].workloads';
const compromised = { trigger: 'emergency' as const, emergency: { compromised: true }, reason: 'key leaked' };

describe('a compromised emergency goes on past consumer problems, as warnings', () => {
  it('a restart-only consumer at plan: refused for an ordinary rotation, a warning for a compromised one', async () => {
    const ordinary = await ts.start(testPlaybook(fakeStoreRef, { clusters }));
    ordinary.store.state.consumerProblems = [envFromPod];
    const refused = await failureOf(ordinary.h);
    expect(JSON.stringify(refused.cause ?? refused)).toContain(ErrorTypes.consumerNotRolledOut);
    expect(ordinary.store.state).toMatchObject({ current: 'v1', revoked: [] });

    const emergency = await ts.start(testPlaybook(fakeStoreRef, { clusters }), compromised);
    emergency.store.state.consumerProblems = [envFromPod];
    const result = (await emergency.h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(emergency.store.state).toMatchObject({ current: 'v2', revoked: ['v1'], finalized: true });
    expect(
      emergency.audit.filter((e) => e.event === 'consumer-gate' && e.stage === 'plan').map((e) => e.detail),
    ).toEqual([`warning, not blocking a compromised rotation: ${envFromPod}`]);
  });

  it('a consumer gate that fails before revoke: a warning, and the old credential is revoked', async () => {
    const { h, store, audit } = await ts.start(testPlaybook(fakeStoreRef, { clusters }), compromised);
    store.state.gateFails = ['promote', 'revoke'];
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    expect(store.state).toMatchObject({ current: 'v2', revoked: ['v1'], finalized: true });
    const warnings = audit
      .filter((e) => e.event === 'consumer-gate' && e.detail?.startsWith('warning'))
      .map((e) => `${e.stage ?? ''}: ${e.detail ?? ''}`);
    expect(warnings).toEqual([
      'promote-gate: warning, not blocking a compromised rotation: cluster-a: pod app-0 still reports reading version v1',
      'revoke-gate: warning, not blocking a compromised rotation: cluster-a: pod app-0 still reports reading version v2',
    ]);
  });

  it('the same failing gate still stops an ordinary rotation, which rolls back', async () => {
    const { h, store } = await ts.start(testPlaybook(fakeStoreRef, { clusters }));
    store.state.gateFails = ['promote'];
    const failure = await failureOf(h);
    expect(failure.message).toContain('promote gate failed in 1 of 1 cluster(s)');
    expect(store.state).toMatchObject({ current: 'v1', revoked: [] });
  });
});
