import { playbookSchema } from '../../playbook/schema';
import type { PlaybookInput } from '../../playbook/schema';
import { policySchema } from '../schema';
import type { PolicyInput } from '../schema';
import type { PolicyContext, RuleContext } from './context';

type TenantAllow = NonNullable<PolicyInput['tenants']>[number]['allow'];

/**
 * For the rules' unit tests: the context of tenant `team` allowed `allow`, over a playbook whose
 * spec is `spec` on top of a Vault store at `secret/apps/team/api` and a random credential. The
 * policy knows database servers `main` (db.example.com:5432) and `local` (127.0.0.1:55432), Redis
 * servers `cache` (cache.example.com:6380, TLS) and `local` (127.0.0.1:6379), and MariaDB servers
 * `maria` (maria.example.com:3306) and `local-maria` (127.0.0.1:53306).
 */
export function ruleContext(
  allow: TenantAllow,
  spec: Partial<PlaybookInput['spec']> = {},
  request: PolicyContext = { requestedBy: 'alice@laptop' },
): RuleContext {
  const policy = policySchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotorPolicy',
    databaseServers: { main: { host: 'db.example.com' }, local: { host: '127.0.0.1', port: 55432 } },
    redisServers: { cache: { host: 'cache.example.com', port: 6380, tls: true }, local: { host: '127.0.0.1' } },
    mariadbServers: { maria: { host: 'maria.example.com' }, 'local-maria': { host: '127.0.0.1', port: 53306 } },
    tenants: [{ name: 'team', match: { labels: { team: 'team' } }, allow }],
  });
  const playbook = playbookSchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name: 'p', labels: { team: 'team' } },
    spec: {
      secret: { name: 'p', store: { type: 'vault', path: 'apps/team/api' } },
      credential: { kind: 'random' },
      ...spec,
    },
  });
  return { policy, playbook, tenant: policy.tenants[0]!, request };
}
