import type { Canary } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import { databaseAt, mariadbAt, tenantRefusal } from './context';
import type { RuleContext } from './context';
import { httpCanaryRefusals } from './http-canary';
import { jwtVerifyCanaryRefusals } from './jwks';
import { kubernetesJobCanaryRefusals } from './kubernetes-job-canary';
import { redisAuthCanaryRefusals } from './redis';
import { vaultPkiHandshakeCanaryRefusals } from './vault-pki-ca';

/**
 * Every `spec.canaries[]` entry must be of a type the tenant's `allow.canaries` turns on, aimed
 * only where it allows (hosts, database servers, STS endpoints, Job contexts, namespaces, images,
 * service accounts). A new canary type does not compile until it has a case here.
 */
export function canariesRule(ctx: RuleContext): PolicyRefusal[] {
  return ctx.playbook.spec.canaries.flatMap((c, i) => canaryRefusals(ctx, c, `spec.canaries[${i}]`));
}

function canaryRefusals(ctx: RuleContext, c: Canary, path: string): PolicyRefusal[] {
  const allow = ctx.tenant.allow.canaries;
  const type = c.type;
  switch (type) {
    case 'command':
      if (allow.command) return [];
      return [
        tenantRefusal(
          ctx,
          `${path}.type`,
          'allow.canaries.command',
          `command canary '${c.name}' would run a program on the worker, which the tenant may not`,
          'set allow.canaries.command: true',
        ),
      ];
    case 'http':
      return httpCanaryRefusals(ctx, c, path);
    case 'postgres-login':
      return loginCanaryRefusals(ctx, c, path, databaseAt(ctx, c.host, c.port), {
        allowed: allow.postgresLogin?.servers,
        rule: 'postgresLogin',
        servers: 'databaseServers',
      });
    case 'mariadb-login':
      return loginCanaryRefusals(ctx, c, path, mariadbAt(ctx, c.host, c.port), {
        allowed: allow.mariadbLogin?.servers,
        rule: 'mariadbLogin',
        servers: 'mariadbServers',
      });
    case 'aws-sts':
      if (!allow.awsSts)
        return [
          tenantRefusal(
            ctx,
            `${path}.type`,
            'allow.canaries.awsSts',
            'aws-sts canaries are not allowed for the tenant',
            'add allow.canaries.awsSts: {}',
          ),
        ];
      if (!c.endpoint || allow.awsSts.endpoints.includes(c.endpoint)) return [];
      return [
        tenantRefusal(
          ctx,
          `${path}.endpoint`,
          'allow.canaries.awsSts.endpoints',
          `STS endpoint ${c.endpoint} is not one the tenant may use`,
          `add ${c.endpoint} to allow.canaries.awsSts.endpoints`,
        ),
      ];
    case 'kubernetes-job':
      return kubernetesJobCanaryRefusals(ctx, c, path);
    case 'redis-auth':
      return redisAuthCanaryRefusals(ctx, c, path);
    case 'jwt-verify':
      return jwtVerifyCanaryRefusals(ctx, c, path);
    case 'tls-handshake':
      // Served and checked on the worker's own loopback: it reaches nothing and sends nothing anywhere.
      return [];
    case 'vault-pki-handshake':
      return vaultPkiHandshakeCanaryRefusals(ctx, c, path);
    default: {
      const _exhaustive: never = type;
      throw new Error(`no policy rule for canary type ${String(_exhaustive)}`);
    }
  }
}

/** A database login canary may only go to a server of the policy that the tenant's `rule` lists. */
function loginCanaryRefusals(
  ctx: RuleContext,
  c: Extract<Canary, { type: 'postgres-login' | 'mariadb-login' }>,
  path: string,
  { where, server }: { where: string; server: string | undefined },
  grant: { allowed: string[] | undefined; rule: string; servers: string },
): PolicyRefusal[] {
  if (server && grant.allowed?.includes(server)) return [];
  return [
    tenantRefusal(
      ctx,
      `${path}.${c.host ? 'host' : 'type'}`,
      `allow.canaries.${grant.rule}`,
      `${c.type} canary to ${where}${server ? ` (server ${server})` : ''} is not allowed; it may only log in to the tenant's servers`,
      `add ${server ?? `the server (define it under ${grant.servers} first)`} to allow.canaries.${grant.rule}.servers`,
    ),
  ];
}
