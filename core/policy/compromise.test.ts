import { describe, expect, it } from 'vitest';
import { compromiseNeedsApproval, compromiseRefusals } from './compromise';
import { policySchema } from './schema';

const policy = (compromise?: unknown) =>
  policySchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotorPolicy',
    groups: { security: ['sam'], oncall: ['olga@pager'] },
    ...(compromise !== undefined ? { compromise } : {}),
  });

describe('compromise.declaredBy', () => {
  it('lets anyone declare a compromise, without approval, when the policy says nothing (as before)', () => {
    expect(compromiseRefusals(policy(), 'mallory@laptop', true)).toEqual([]);
    expect(compromiseNeedsApproval(policy())).toBe(false);
  });

  it('lets members of a listed group declare one, whatever host they ask from', () => {
    const p = policy({ declaredBy: ['security', 'oncall'] });
    expect(compromiseRefusals(p, 'sam@ci-runner', true)).toEqual([]);
    expect(compromiseRefusals(p, 'olga', true)).toEqual([]);
  });

  it('refuses anyone else, naming the field, the rule, the groups and the way out', () => {
    expect(compromiseRefusals(policy({ declaredBy: ['security'] }), 'mallory@laptop', true)).toEqual([
      {
        path: 'emergency.compromised',
        rule: 'compromise.declaredBy',
        message: "mallory@laptop may not declare a compromise: only members of 'security' may",
        fix: "add mallory@laptop to one of compromise.declaredBy's groups (or have a member request it; an emergency without --compromised needs no such group)",
      },
    ]);
  });

  it('refuses everyone when the list is empty, and never a rotation that claims no compromise', () => {
    const p = policy({ declaredBy: [] });
    expect(compromiseRefusals(p, 'sam', true)[0]?.message).toBe(
      'sam may not declare a compromise: the policy lets no one declare one',
    );
    expect(compromiseRefusals(p, 'sam', false)).toEqual([]);
  });

  it('rejects a group the policy does not define, naming its path', () => {
    const r = policySchema.safeParse({
      apiVersion: 'rotor.dev/v1',
      kind: 'RotorPolicy',
      compromise: { declaredBy: ['secuirty'] },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['compromise.declaredBy.0', "group 'secuirty' is not defined under groups"],
    ]);
  });
});

describe('compromise.approval', () => {
  it('required keeps the approval gate; anything else than skipped or required is refused', () => {
    expect(compromiseNeedsApproval(policy({ approval: 'required' }))).toBe(true);
    expect(compromiseNeedsApproval(policy({ approval: 'skipped' }))).toBe(false);
    expect(
      policySchema.safeParse({ apiVersion: 'rotor.dev/v1', kind: 'RotorPolicy', compromise: { approval: 'sometimes' } })
        .success,
    ).toBe(false);
  });
});
