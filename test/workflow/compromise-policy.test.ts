/**
 * Who may declare a compromise, and whether approval still holds (issue 24: "the policy says who
 * may declare a compromise and when approval is required"). The worker's real admission activity
 * over a policy with `compromise.declaredBy` and `approval: required`; fake stores on the
 * time-skipping server. A compromise claimed by anyone else is refused at plan before any store
 * call; one declared by a member waits at the playbook's approval gate, and revokes once approved.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAdmissionActivities } from '../../activities/admission';
import { admissionKeys } from '../../adapters/admission-token';
import { keyring } from '../../adapters/keys';
import { loadPolicyFile } from '../../adapters/policy-file';
import { policySchema } from '../../core/policy/schema';
import type { RotationResult } from '../../core/status';
import { devPolicyFile } from '../../dev/local-stack/config';
import { approveUpdate } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { failureOf, reach, statusOf, useTimeSkipping } from '../helpers/time-skipping';

const policy = policySchema.parse({
  ...loadPolicyFile(devPolicyFile),
  groups: { security: ['sam'] },
  compromise: { declaredBy: ['security'], approval: 'required' },
});
const ts = useTimeSkipping({
  activities: createAdmissionActivities({
    policy,
    defaults: {},
    keys: admissionKeys(keyring([{ id: 'ts-admission', key: randomBytes(32) }])),
  }),
});

const storeRef = (name: string) => ({ type: 'aws' as const, secretId: `rotor-test/compromise-${name}` });
const compromised = (requestedBy: string) => ({
  trigger: 'emergency' as const,
  emergency: { compromised: true },
  reason: 'key leaked',
  requestedBy,
});

describe('compromise.declaredBy', () => {
  it('refuses a compromise claimed by someone outside the groups at plan: no store call, nothing changed', async () => {
    const { h, store } = await ts.start(testPlaybook(storeRef('mallory')), compromised('mallory@laptop'));
    const failure = await failureOf(h);
    expect(failure.type).toBe('PolicyRefused');
    expect(failure.message).toContain(
      "emergency.compromised: mallory@laptop may not declare a compromise: only members of 'security' may (policy rule compromise.declaredBy;",
    );
    expect(store.names()).toEqual([]);
    expect(store.state).toMatchObject({ current: 'v1', pending: null, revoked: [] });
  });

  it('lets the same requester run an emergency that claims no compromise', async () => {
    const { h, store } = await ts.start(testPlaybook(storeRef('plain-emergency')), {
      ...compromised('mallory@laptop'),
      emergency: { compromised: false },
    });
    expect(((await h.result()) as RotationResult).outcome).toBe('rotated');
    expect(store.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
  });
});

describe('compromise.approval: required', () => {
  it("keeps a member's compromised rotation at its approval gate until someone approves, then revokes", async () => {
    const { h, store } = await ts.start(
      testPlaybook(storeRef('sam'), { approval: { beforeRevoke: true } }),
      compromised('sam@ci-runner'),
    );
    await reach(h, 'approval');
    expect((await statusOf(h)).awaitingApproval).toBe(true);
    expect(store.names()).not.toContain('revokeVersion');
    expect(store.state).toMatchObject({ current: 'v2', revoked: [] });
    expect(await h.executeUpdate(approveUpdate, { args: [{ by: 'bob@laptop' }] })).toBe('approved by bob@laptop');
    expect(((await h.result()) as RotationResult).outcome).toBe('rotated');
    expect(store.state).toMatchObject({ current: 'v2', revoked: ['v1'] });
  });
});
