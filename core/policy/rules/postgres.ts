import type { Credential } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import { databaseAt } from './context';
import type { RuleContext } from './context';
import { serverUserRefusals } from './server-users';

type PostgresCredential = Extract<Credential, { kind: 'postgres-alternating-users' }>;

/**
 * A `postgres-alternating-users` credential: rotor's admin credentials go only to a policy
 * `databaseServers` entry (a refusal by the policy's `databaseServers`, not the tenant's), and there
 * both roles, and the database when named, must be in the tenant's `allow.postgres` for that server.
 */
export function postgresRefusals(ctx: RuleContext, cred: PostgresCredential): PolicyRefusal[] {
  return serverUserRefusals(ctx, {
    at: databaseAt(ctx, cred.host, cred.port),
    hostGiven: cred.host !== undefined,
    servers: 'databaseServers',
    serverNoun: 'database server',
    grant: 'postgres',
    grants: ctx.tenant.allow.postgres,
    field: 'roles',
    noun: 'role',
    names: cred.roles,
    allows: (g, role) => g.roles.includes(role),
    database: cred.database,
  });
}
