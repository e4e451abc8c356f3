import type { Canary } from '../../playbook/schema';
import { isForbiddenAddress } from '../addresses';
import { hostMatches } from '../match';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

/**
 * An `http` canary at `path`: only with `allow.canaries.http`, over https (plain http only with
 * `allowPlainHttp`), without user info in the URL, never to a link-local or metadata address, and
 * only to a listed host. Every problem found is refused, not just the first.
 */
export function httpCanaryRefusals(
  ctx: RuleContext,
  c: Extract<Canary, { type: 'http' }>,
  path: string,
): PolicyRefusal[] {
  const allow = ctx.tenant.allow.canaries.http;
  const url = new URL(c.url);
  const refuse = (field: string, rule: string, message: string, fix: string) =>
    tenantRefusal(ctx, `${path}.${field}`, `allow.canaries.http${rule}`, message, fix);
  if (!allow)
    return [
      refuse(
        'type',
        '',
        `http canaries are not allowed for the tenant`,
        `add allow.canaries.http with hosts: [${url.hostname}]`,
      ),
    ];
  const out: PolicyRefusal[] = [];
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allow.allowPlainHttp))
    out.push(
      refuse(
        'url',
        '.allowPlainHttp',
        `${url.protocol}// would send the credential unencrypted; only https is allowed`,
        'set allow.canaries.http.allowPlainHttp: true',
      ),
    );
  if (url.username || url.password)
    out.push(
      refuse(
        'url',
        '',
        'the URL carries user info; credentials go in the header only',
        'not allow it: remove user:password@ from the URL',
      ),
    );
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isForbiddenAddress(host))
    out.push(
      refuse(
        'url',
        '',
        `${host} is a link-local or cloud metadata address`,
        'not allow it: metadata and link-local addresses are always refused',
      ),
    );
  else if (!allow.hosts.some((h) => hostMatches(host, h)))
    out.push(
      refuse(
        'url',
        '.hosts',
        `host ${host} is not one the tenant's http canaries may call`,
        `add ${host} to allow.canaries.http.hosts`,
      ),
    );
  return out;
}
