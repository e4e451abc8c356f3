import { describe, expect, it } from 'vitest';
import { validatePlaybook } from './validate';

/** `path: message` of every problem of a playbook with this credential. */
function problems(credential: Record<string, unknown>): string[] {
  const r = validatePlaybook(
    {
      apiVersion: 'rotor.dev/v1',
      kind: 'RotationPlaybook',
      metadata: { name: 'demo' },
      spec: { secret: { name: 'demo', store: { type: 'aws', secretId: 'demo' } }, credential },
    },
    'p.yaml',
  );
  return 'problems' in r ? r.problems.map((p) => `${p.path}: ${p.message}`) : [];
}

describe('mariadb-users in a playbook', () => {
  it('takes two users that take turns, or one with retainCurrentPassword', () => {
    expect(problems({ kind: 'mariadb-users', users: ['app_a', 'app_b'] })).toEqual([]);
    expect(problems({ kind: 'mariadb-users', users: ['app'], retainCurrentPassword: true })).toEqual([]);
  });

  it('names the field when the users do not fit the mode', () => {
    expect(problems({ kind: 'mariadb-users', users: ['app'] })).toEqual([
      'spec.credential.users: give two different users that take turns (or one user with retainCurrentPassword: true)',
    ]);
    expect(problems({ kind: 'mariadb-users', users: ['app', 'app'] })).toEqual([
      'spec.credential.users: give two different users that take turns (or one user with retainCurrentPassword: true)',
    ]);
    expect(problems({ kind: 'mariadb-users', users: ['a', 'b'], retainCurrentPassword: true })).toEqual([
      'spec.credential.users: with retainCurrentPassword give exactly one user: it holds both passwords',
    ]);
  });

  it('refuses user names and host parts that are not plain identifiers', () => {
    expect(problems({ kind: 'mariadb-users', users: ["a' OR 1", 'b'], userHost: "%'; DROP" })).toEqual([
      'spec.credential.users[0]: must be a user name of letters, digits, _ $ . - (at most 80)',
      "spec.credential.userHost: must be an account host part such as '%', 'localhost' or '10.0.0.%'",
    ]);
  });
});
