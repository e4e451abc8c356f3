import { describe, expect, it } from 'vitest';
import { policySchema } from '../schema';
import { commandSandboxRefusals, needsCommandSandbox, sandboxFix } from './command-sandbox';
import { ruleContext } from './test-context';

const base = { apiVersion: 'rotor.dev/v1', kind: 'RotorPolicy' } as const;
const command = { type: 'command' as const, name: 'c', command: ['check'] };
const http = { type: 'http' as const, name: 'h', url: 'https://api.team.example.com/ping' };

describe('command canary sandbox', () => {
  it('is bubblewrap unless a policy says otherwise', () => {
    expect(policySchema.parse(base).commandSandbox).toEqual({ type: 'bubblewrap', readOnlyPaths: [] });
  });

  it('may be none (full trust) only in a single-tenant policy', () => {
    expect(policySchema.parse({ ...base, allowAll: true, commandSandbox: { type: 'none' } }).commandSandbox.type).toBe(
      'none',
    );
    const multi = policySchema.safeParse({ ...base, commandSandbox: { type: 'none' } });
    expect(multi.success).toBe(false);
    expect(multi.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'commandSandbox.type',
        "none runs command canaries as the worker's user, with its files, /proc and network (full trust): only a single-tenant policy (allowAll: true) may choose it; use bubblewrap",
      ],
    ]);
  });

  it('shows only absolute paths without . or .. read-only', () => {
    const paths = (readOnlyPaths: string[]) =>
      policySchema.safeParse({ ...base, commandSandbox: { readOnlyPaths } }).error?.issues.map((i) => i.message);
    expect(paths(['/opt/canary-tools'])).toBeUndefined();
    expect(paths(['opt/tools'])).toEqual(['must be an absolute path']);
    expect(paths(['/opt/../var/lib/rotor'])).toEqual(['must not contain . or .. segments']);
  });

  it('refuses every command canary at admission when the worker cannot create the sandbox, naming what to install', () => {
    const { policy, playbook } = ruleContext({ canaries: { command: true } }, { canaries: [http, command] });
    expect(needsCommandSandbox(policy, playbook)).toBe(true);
    expect(commandSandboxRefusals(policy, playbook, undefined)).toEqual([]);
    expect(commandSandboxRefusals(policy, playbook, 'bwrap is not installed')).toEqual([
      {
        path: 'spec.canaries[1].type',
        rule: 'commandSandbox.type',
        message:
          "command canary 'c' must run in the bubblewrap sandbox, which this worker cannot create (bwrap is not installed)",
        fix: sandboxFix,
      },
    ]);
    expect(sandboxFix).toMatch(
      /apt-get install bubblewrap.*user namespaces.*allowAll: true.*commandSandbox.type: none/,
    );
  });

  it('has nothing to refuse without command canaries, or when the policy runs them bare', () => {
    const { policy, playbook } = ruleContext({ canaries: { command: true } }, { canaries: [http] });
    expect(needsCommandSandbox(policy, playbook)).toBe(false);
    expect(commandSandboxRefusals(policy, playbook, 'bwrap is not installed')).toEqual([]);
    const bare = policySchema.parse({ ...base, allowAll: true, commandSandbox: { type: 'none' } });
    const withCommand = ruleContext({}, { canaries: [command] }).playbook;
    expect(needsCommandSandbox(bare, withCommand)).toBe(false);
    expect(commandSandboxRefusals(bare, withCommand, 'bwrap is not installed')).toEqual([]);
  });
});
