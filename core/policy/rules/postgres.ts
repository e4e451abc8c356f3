import type { Credential } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import { databaseAt, tenantRefusal } from './context';
import type { RuleContext } from './context';

type PostgresCredential = Extract<Credential, { kind: 'postgres-alternating-users' }>;

/**
 * A `postgres-alternating-users` credential: rotor's admin credentials go only to a policy
 * `databaseServers` entry (a refusal by the policy's `databaseServers`, not the tenant's), and there
 * both roles, and the database when named, must be in the tenant's `allow.postgres` for that server.
 */
export function postgresRefusals(ctx: RuleContext, cred: PostgresCredential): PolicyRefusal[] {
  const { where, server } = databaseAt(ctx, cred.host, cred.port);
  if (!server)
    return [
      {
        path: cred.host ? 'spec.credential.host' : 'spec.credential',
        rule: 'databaseServers',
        message: `database server ${where} is not one the worker is configured for; rotor's admin credentials only go to databaseServers`,
        fix: `add it to databaseServers (and to tenant ${ctx.tenant.name}'s allow.postgres) if it really is one of yours`,
      },
    ];
  const entries = ctx.tenant.allow.postgres.filter((e) => e.server === server);
  const out = cred.roles.flatMap((role, i) =>
    entries.some((e) => e.roles.includes(role))
      ? []
      : [
          tenantRefusal(
            ctx,
            `spec.credential.roles[${i}]`,
            'allow.postgres',
            `role '${role}' on server ${server} is not one the tenant may rotate`,
            `add ${role} to the roles of server ${server} in allow.postgres`,
          ),
        ],
  );
  const database = cred.database;
  if (database && !entries.some((e) => !e.databases || e.databases.includes(database)))
    out.push(
      tenantRefusal(
        ctx,
        'spec.credential.database',
        'allow.postgres',
        `database '${database}' on server ${server} is not one the tenant may use`,
        `add ${database} to the databases of server ${server} in allow.postgres`,
      ),
    );
  return out;
}
