import type { Credential } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import { mariadbAt, tenantRefusal } from './context';
import type { RuleContext } from './context';
import { serverUserRefusals } from './server-users';

type MariadbCredential = Extract<Credential, { kind: 'mariadb-users' }>;

/**
 * A `mariadb-users` credential: rotor's admin account goes only to a policy `mariadbServers` entry
 * (a refusal by the policy's `mariadbServers`, not the tenant's), and there every user, the
 * accounts' host part and the database when named must be in the tenant's `allow.mariadb` for that
 * server. `retainCurrentPassword` needs no grant of its own: it changes only the users allowed here.
 */
export function mariadbRefusals(ctx: RuleContext, cred: MariadbCredential): PolicyRefusal[] {
  return serverUserRefusals(ctx, {
    at: mariadbAt(ctx, cred.host, cred.port),
    hostGiven: cred.host !== undefined,
    servers: 'mariadbServers',
    serverNoun: 'MariaDB server',
    grant: 'mariadb',
    grants: ctx.tenant.allow.mariadb,
    field: 'users',
    noun: 'user',
    names: cred.users,
    allows: (g, user) => g.users.includes(user),
    database: cred.database,
    more: (server, entries) =>
      entries.some((e) => e.userHosts.includes(cred.userHost))
        ? []
        : [
            tenantRefusal(
              ctx,
              'spec.credential.userHost',
              'allow.mariadb',
              `accounts '…'@'${cred.userHost}' on server ${server} are not ones the tenant may rotate`,
              `add '${cred.userHost}' to the userHosts of server ${server} in allow.mariadb`,
            ),
          ],
  });
}
