import type { Playbook } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import type { Policy, Tenant } from '../schema';

/** Who asks for a rotation and from where; the policy picks the tenant from this and the playbook. */
export interface PolicyContext {
  /** The playbook's file as given when the rotation was requested (relative to where rotor ran). */
  playbookFile?: string | undefined;
  requestedBy: string;
  /** Where the worker's admin database connection goes when a playbook names no host (PGHOST/PGPORT). */
  defaultDatabase?: { host?: string | undefined; port?: number | undefined } | undefined;
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

/** The policy's name for a database server at host:port (5432 when not given), or undefined when it is not one of them. */
export function databaseServerAt(
  policy: Policy,
  host: string | undefined,
  port: number | undefined,
): string | undefined {
  if (!host) return undefined;
  return Object.entries(policy.databaseServers).find(
    ([, s]) => s.host.toLowerCase() === host.toLowerCase() && s.port === (port ?? 5432),
  )?.[0];
}

/**
 * Where a playbook's database connection goes: its own host/port, else the worker's default
 * (PGHOST/PGPORT). `where` is `host:port` for messages; `server` is the policy's name for it, if any.
 */
export function databaseAt(
  { policy, request }: RuleContext,
  host: string | undefined,
  port: number | undefined,
): { where: string; server: string | undefined } {
  const h = host ?? request.defaultDatabase?.host;
  const p = port ?? request.defaultDatabase?.port;
  return { where: `${h ?? '(none)'}:${p ?? 5432}`, server: databaseServerAt(policy, h, p) };
}
