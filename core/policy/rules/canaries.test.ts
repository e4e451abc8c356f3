import { describe, expect, it } from 'vitest';
import type { PlaybookInput } from '../../playbook/schema';
import { canariesRule } from './canaries';
import type { PolicyContext } from './context';
import { ruleContext } from './test-context';

type CanaryInput = NonNullable<PlaybookInput['spec']['canaries']>[number];
const allow = {
  canaries: {
    command: true,
    http: { hosts: ['api.team.example.com'] },
    postgresLogin: { servers: ['main'] },
    awsSts: { endpoints: ['https://sts.example.com'] },
    kubernetesJob: { contexts: ['prod-a'], namespaces: ['team'], images: ['registry.example.com/team/*'] },
    redisAuth: { servers: ['local'] },
  },
};
const alice: PolicyContext = { requestedBy: 'alice@laptop' };
const refusals = (canaries: CanaryInput[], grants: object = allow, request = alice) =>
  canariesRule(ruleContext(grants, { canaries }, request));
const every: CanaryInput[] = [
  { type: 'command', name: 'c', command: ['check'] },
  { type: 'http', name: 'h', url: 'https://api.team.example.com/ping' },
  { type: 'postgres-login', name: 'p', host: 'db.example.com' },
  { type: 'aws-sts', name: 's', endpoint: 'https://sts.example.com' },
  {
    type: 'kubernetes-job',
    name: 'k',
    cluster: 'prod-a',
    namespace: 'team',
    image: 'registry.example.com/team/canary:1',
    command: ['t'],
  },
  { type: 'redis-auth', name: 'r', host: '127.0.0.1' },
];

describe('canaries rule', () => {
  it('allows each type the tenant turns on, aimed where it allows', () => {
    expect(refusals(every)).toEqual([]);
    expect(refusals([{ type: 'aws-sts', name: 's' }])).toEqual([]);
    expect(
      refusals([{ type: 'postgres-login', name: 'p' }], allow, {
        ...alice,
        defaultDatabase: { host: 'db.example.com' },
      }),
    ).toEqual([]);
  });

  it('refuses every type to a tenant that turns none on, at each canary', () => {
    expect(refusals(every, {})).toEqual([
      {
        path: 'spec.canaries[0].type',
        rule: 'tenants[team].allow.canaries.command',
        message: "command canary 'c' would run a program on the worker, which the tenant may not",
        fix: 'set allow.canaries.command: true under tenant team',
      },
      {
        path: 'spec.canaries[1].type',
        rule: 'tenants[team].allow.canaries.http',
        message: 'http canaries are not allowed for the tenant',
        fix: 'add allow.canaries.http with hosts: [api.team.example.com] under tenant team',
      },
      {
        path: 'spec.canaries[2].host',
        rule: 'tenants[team].allow.canaries.postgresLogin',
        message:
          "postgres-login canary to db.example.com:5432 (server main) is not allowed; it may only log in to the tenant's servers",
        fix: 'add main to allow.canaries.postgresLogin.servers under tenant team',
      },
      {
        path: 'spec.canaries[3].type',
        rule: 'tenants[team].allow.canaries.awsSts',
        message: 'aws-sts canaries are not allowed for the tenant',
        fix: 'add allow.canaries.awsSts: {} under tenant team',
      },
      {
        path: 'spec.canaries[4].type',
        rule: 'tenants[team].allow.canaries.kubernetesJob',
        message: 'kubernetes-job canaries are not allowed for the tenant',
        fix: 'add allow.canaries.kubernetesJob with contexts, namespaces and images under tenant team',
      },
      {
        path: 'spec.canaries[5].host',
        rule: 'tenants[team].allow.canaries.redisAuth',
        message: "redis-auth canary to server local is not allowed; it may only authenticate to the tenant's servers",
        fix: 'add local to allow.canaries.redisAuth.servers under tenant team',
      },
    ]);
  });

  it('refuses a postgres-login outside databaseServers, or with no server at all', () => {
    expect(refusals([{ type: 'postgres-login', name: 'p', host: 'evil.example.com', port: 5433 }])).toEqual([
      {
        path: 'spec.canaries[0].host',
        rule: 'tenants[team].allow.canaries.postgresLogin',
        message:
          "postgres-login canary to evil.example.com:5433 is not allowed; it may only log in to the tenant's servers",
        fix: 'add the server (define it under databaseServers first) to allow.canaries.postgresLogin.servers under tenant team',
      },
    ]);
    expect(refusals([{ type: 'postgres-login', name: 'p' }])).toEqual([
      expect.objectContaining({
        path: 'spec.canaries[0].type',
        message: "postgres-login canary to (none):5432 is not allowed; it may only log in to the tenant's servers",
      }),
    ]);
    // local is a policy server, but not one of this tenant's.
    expect(refusals([{ type: 'postgres-login', name: 'p', host: '127.0.0.1', port: 55432 }])[0]?.message).toBe(
      "postgres-login canary to 127.0.0.1:55432 (server local) is not allowed; it may only log in to the tenant's servers",
    );
  });

  it('refuses an STS endpoint the tenant does not list', () => {
    expect(refusals([{ type: 'aws-sts', name: 's', endpoint: 'https://evil.example.com' }])).toEqual([
      {
        path: 'spec.canaries[0].endpoint',
        rule: 'tenants[team].allow.canaries.awsSts.endpoints',
        message: 'STS endpoint https://evil.example.com is not one the tenant may use',
        fix: 'add https://evil.example.com to allow.canaries.awsSts.endpoints under tenant team',
      },
    ]);
  });
});
