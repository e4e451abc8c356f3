import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policySchema } from '../core/policy/schema';
import { logIdentity } from './identity-log';
import { createLogger } from './logger';

const dir = mkdtempSync(join(tmpdir(), 'rotor-identity-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The one line the worker logs at startup about identity, as level and message. */
function startupLine(policy: object) {
  const file = join(dir, `${Math.random()}.log`);
  const logger = createLogger({ ROTOR_LOG_FILE: file });
  logIdentity(policySchema.parse({ apiVersion: 'rotor.dev/v1', kind: 'RotorPolicy', ...policy }), logger);
  const [line, ...rest] = readFileSync(file, 'utf8').trim().split('\n');
  expect(rest).toEqual([]);
  return JSON.parse(line ?? '{}') as { level: number; msg: string };
}

const tenant = (name: string) => ({ name, match: { namespaces: [name] }, allow: {} });

describe('the worker says at startup where requesters and approvers come from', () => {
  it('from Kubernetes', () => {
    expect(startupLine({ identity: 'kubernetes', tenants: [tenant('a'), tenant('b')] })).toMatchObject({
      level: 30,
      msg: expect.stringContaining("only rotor's controller starts rotations") as unknown,
    });
  });

  it('from claims: single-tenant, and a warning once the policy names two tenants', () => {
    expect(startupLine({ tenants: [tenant('a')] })).toMatchObject({ level: 30 });
    const two = startupLine({ tenants: [tenant('a'), tenant('b')] });
    expect(two.level).toBe(40);
    expect(two.msg).toContain('with 2 tenants set identity: kubernetes');
  });
});
