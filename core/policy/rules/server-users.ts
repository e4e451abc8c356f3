import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

/** One entry of a tenant's `allow.postgres` / `allow.mariadb`: names on a server, maybe databases. */
interface ServerGrant {
  server: string;
  databases?: string[] | undefined;
}

/**
 * A credential made of users (roles) on a database server: rotor's admin credentials go only to a
 * server the policy names under `servers` (a refusal by the policy, not the tenant), and there
 * every name in `field`, and the database when named, must be in the tenant's `allow.<grant>`.
 */
export function serverUserRefusals<G extends ServerGrant>(
  ctx: RuleContext,
  c: {
    at: { where: string; server: string | undefined };
    hostGiven: boolean;
    /** `databaseServers` or `mariadbServers`, and what the messages call such a server. */
    servers: string;
    serverNoun: string;
    grant: string;
    grants: G[];
    field: string;
    noun: string;
    names: string[];
    allows: (g: G, name: string) => boolean;
    database: string | undefined;
    /** Refusals of other fields, checked after the names and before the database (field order). */
    more?: (server: string, entries: G[]) => PolicyRefusal[];
  },
): PolicyRefusal[] {
  const { where, server } = c.at;
  if (!server)
    return [
      {
        path: c.hostGiven ? 'spec.credential.host' : 'spec.credential',
        rule: c.servers,
        message: `${c.serverNoun} ${where} is not one the worker is configured for; rotor's admin credentials only go to ${c.servers}`,
        fix: `add it to ${c.servers} (and to tenant ${ctx.tenant.name}'s allow.${c.grant}) if it really is one of yours`,
      },
    ];
  const entries = c.grants.filter((e) => e.server === server);
  const refusals: PolicyRefusal[] = c.names.flatMap((name, i) =>
    entries.some((e) => c.allows(e, name))
      ? []
      : [
          tenantRefusal(
            ctx,
            `spec.credential.${c.field}[${i}]`,
            `allow.${c.grant}`,
            `${c.noun} '${name}' on server ${server} is not one the tenant may rotate`,
            `add ${name} to the ${c.field} of server ${server} in allow.${c.grant}`,
          ),
        ],
  );
  refusals.push(...(c.more?.(server, entries) ?? []));
  const database = c.database;
  if (database && !entries.some((e) => !e.databases || e.databases.includes(database)))
    refusals.push(
      tenantRefusal(
        ctx,
        'spec.credential.database',
        `allow.${c.grant}`,
        `database '${database}' on server ${server} is not one the tenant may use`,
        `add ${database} to the databases of server ${server} in allow.${c.grant}`,
      ),
    );
  return refusals;
}
