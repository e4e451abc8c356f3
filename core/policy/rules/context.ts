import type { Playbook } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import type { Policy, Tenant } from '../schema';

/** Who asks for a rotation and from where; the policy picks the tenant from this and the playbook. */
export interface PolicyContext {
  /** The playbook's file as given when the rotation was requested (relative to where rotor ran). */
  playbookFile?: string | undefined;
  requestedBy: string;
  /**
   * The management cluster namespace of the `RotationRequest` this rotation comes from, set only by
   * rotor's controller: it alone selects the tenant (policy `match.namespaces`).
   */
  namespace?: string | undefined;
  /** Where the worker's admin database connection goes when a playbook names no host (PGHOST/PGPORT). */
  defaultDatabase?: { host?: string | undefined; port?: number | undefined } | undefined;
  /** Where the worker's MariaDB admin account goes when a playbook names no host (ROTOR_MARIADB_HOST/PORT). */
  defaultMariadb?: { host?: string | undefined; port?: number | undefined } | undefined;
  /** The worker's AWS region, for secrets whose playbook names none. */
  defaultRegion?: string | undefined;
}

/** What every policy rule reads: the playbook, the tenant already selected for it, and the request. */
export interface RuleContext {
  readonly policy: Policy;
  readonly playbook: Playbook;
  /** The tenant whose `allow` applies; rules run only once one matched (and never under `allowAll`). */
  readonly tenant: Tenant;
  readonly request: PolicyContext;
}

/**
 * One part of the policy check: every refusal for its part of the playbook, in field order; empty
 * means allowed. Pure, and independent of the other rules.
 */
export type PolicyRule = (ctx: RuleContext) => PolicyRefusal[];

/**
 * A refusal by the tenant's `allow`: `rule` is written relative to the tenant (`allow.vault`) and
 * becomes `tenants[<name>].allow.vault`; `fix` gets ` under tenant <name>` appended.
 */
export function tenantRefusal(
  { tenant }: RuleContext,
  path: string,
  rule: string,
  message: string,
  fix: string,
): PolicyRefusal {
  return { path, rule: `tenants[${tenant.name}].${rule}`, message, fix: `${fix} under tenant ${tenant.name}` };
}

/** Named servers of the policy (`databaseServers`, `mariadbServers`). */
type Servers = Policy['databaseServers'] | Policy['mariadbServers'];
type HostPort = { host?: string | undefined; port?: number | undefined } | undefined;

/** The name `servers` give host:port (host case-insensitive), or undefined when it is not one of them. */
function serverNamed(servers: Servers, host: string | undefined, port: number): string | undefined {
  if (!host) return undefined;
  return Object.entries(servers).find(([, s]) => s.host.toLowerCase() === host.toLowerCase() && s.port === port)?.[0];
}

/**
 * Where a playbook's connection goes: its own host/port, else the worker's default. `where` is
 * `host:port` for messages; `server` is the policy's name for it, if any.
 */
function serverAt(
  servers: Servers,
  workerDefault: HostPort,
  defaultPort: number,
  host: string | undefined,
  port: number | undefined,
): { where: string; server: string | undefined } {
  const h = host ?? workerDefault?.host;
  const p = port ?? workerDefault?.port ?? defaultPort;
  return { where: `${h ?? '(none)'}:${p}`, server: serverNamed(servers, h, p) };
}

/** The policy's name for a database server at host:port (5432 when not given), or undefined when it is not one of them. */
export function databaseServerAt(
  policy: Policy,
  host: string | undefined,
  port: number | undefined,
): string | undefined {
  return serverNamed(policy.databaseServers, host, port ?? 5432);
}

/** Where a playbook's PostgreSQL connection goes: its own host/port, else the worker's PGHOST/PGPORT. */
export function databaseAt(
  { policy, request }: RuleContext,
  host: string | undefined,
  port: number | undefined,
): { where: string; server: string | undefined } {
  return serverAt(policy.databaseServers, request.defaultDatabase, 5432, host, port);
}

/** Where a playbook's MariaDB connection goes: its own host/port, else the worker's ROTOR_MARIADB_HOST/PORT. */
export function mariadbAt(
  { policy, request }: RuleContext,
  host: string | undefined,
  port: number | undefined,
): { where: string; server: string | undefined } {
  return serverAt(policy.mariadbServers, request.defaultMariadb, 3306, host, port);
}
