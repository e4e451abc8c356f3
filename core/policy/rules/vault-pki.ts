import type { Credential } from '../../playbook/schema';
import { hostMatches, isCanonicalPath } from '../match';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

type PkiCredential = Extract<Credential, { kind: 'vault-pki-certificate' }>;

/** `name` is `pattern` itself or, for a `*.example.com` pattern, any name below example.com. */
const nameAllowed = (name: string, pattern: string): boolean =>
  name.toLowerCase() === pattern.toLowerCase() || hostMatches(name, pattern);

/**
 * A `vault-pki-certificate`: its mount and role must be canonical Vault path parts and listed
 * together in the tenant's `allow.pki`, and its common name and every alt name must be among the
 * `domains` of an entry listing that role, so one team cannot have a certificate issued for
 * another team's names, even from a role Vault would let it use.
 */
export function vaultPkiRefusals(ctx: RuleContext, cred: PkiCredential): PolicyRefusal[] {
  const refuse = (field: string, message: string, fix: string) =>
    tenantRefusal(ctx, `spec.credential.${field}`, 'allow.pki', message, fix);
  const odd = (['mount', 'role'] as const).filter((field) => !isCanonicalPath(cred[field]));
  if (odd.length > 0)
    return odd.map((field) =>
      refuse(
        field,
        `PKI ${field} '${cred[field]}' has empty, '.' or '..' segments (percent-decoded or not)`,
        'not allow it: write it without them',
      ),
    );
  const entries = ctx.tenant.allow.pki.filter((e) => e.mount === cred.mount && e.roles.includes(cred.role));
  if (entries.length === 0)
    return [
      refuse(
        'role',
        `PKI role '${cred.mount}/issue/${cred.role}' is not one the tenant may issue certificates from`,
        `add { mount: ${cred.mount}, roles: [${cred.role}], domains: [...] } to allow.pki`,
      ),
    ];
  const domains = entries.flatMap((e) => e.domains);
  const names: [string, string][] = [
    ['commonName', cred.commonName],
    ...cred.altNames.map((n, i): [string, string] => [`altNames[${i}]`, n]),
  ];
  return names
    .filter(([, n]) => !domains.some((d) => nameAllowed(n, d)))
    .map(([field, n]) =>
      refuse(
        field,
        `certificate name '${n}' is not among the names the tenant may have issued from ${cred.mount}/issue/${cred.role} (${domains.join(', ')})`,
        `add ${n} (or a *. pattern above it) to the domains of { mount: ${cred.mount}, roles: [${cred.role}] } in allow.pki`,
      ),
    );
}
