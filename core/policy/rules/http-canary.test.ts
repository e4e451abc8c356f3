import { describe, expect, it } from 'vitest';
import { httpCanaryRefusals } from './http-canary';
import { ruleContext } from './test-context';

const hosts = ['api.team.example.com', '*.team.example.net', '127.0.0.1'];
function refusals(url: string, allowPlainHttp = false) {
  const ctx = ruleContext(
    { canaries: { http: { hosts, allowPlainHttp } } },
    { canaries: [{ type: 'http', name: 'h', url }] },
  );
  const c = ctx.playbook.spec.canaries[0];
  if (c?.type !== 'http') throw new Error('not an http canary');
  return httpCanaryRefusals(ctx, c, 'spec.canaries[0]');
}
const refusal = (rule: string, message: string, fix: string) => ({
  path: 'spec.canaries[0].url',
  rule: `tenants[team].allow.canaries.http${rule}`,
  message,
  fix: `${fix} under tenant team`,
});

describe('http canaries', () => {
  it('allow https to listed hosts and subdomains, and plain http only when allowed', () => {
    expect(refusals('https://api.team.example.com/ping')).toEqual([]);
    expect(refusals('https://a.team.example.net/')).toEqual([]);
    expect(refusals('http://127.0.0.1:8080/health', true)).toEqual([]);
  });

  it('refuse plain http, user info, and hosts not listed, all at once', () => {
    expect(refusals('http://u:p@other.example.com/')).toEqual([
      refusal(
        '.allowPlainHttp',
        'http:// would send the credential unencrypted; only https is allowed',
        'set allow.canaries.http.allowPlainHttp: true',
      ),
      refusal(
        '',
        'the URL carries user info; credentials go in the header only',
        'not allow it: remove user:password@ from the URL',
      ),
      refusal(
        '.hosts',
        "host other.example.com is not one the tenant's http canaries may call",
        'add other.example.com to allow.canaries.http.hosts',
      ),
    ]);
    // The apex is not a subdomain.
    expect(refusals('https://team.example.net/').map((r) => r.rule)).toEqual([
      'tenants[team].allow.canaries.http.hosts',
    ]);
  });

  it('refuse link-local and metadata addresses, whatever the hosts list says', () => {
    expect(refusals('https://169.254.169.254/latest/meta-data')).toEqual([
      refusal(
        '',
        '169.254.169.254 is a link-local or cloud metadata address',
        'not allow it: metadata and link-local addresses are always refused',
      ),
    ]);
    expect(refusals('https://[fe80::1]/')[0]?.message).toBe('fe80::1 is a link-local or cloud metadata address');
  });
});
