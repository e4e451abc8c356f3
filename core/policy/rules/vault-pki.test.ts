import { describe, expect, it } from 'vitest';
import type { PlaybookInput } from '../../playbook/schema';
import { ruleContext } from './test-context';
import { vaultPkiRefusals } from './vault-pki';

type PkiInput = Extract<PlaybookInput['spec']['credential'], { kind: 'vault-pki-certificate' }>;

const allow = {
  pki: [
    { mount: 'pki', roles: ['web'], domains: ['*.team.example.com', 'team.example.com'] },
    { mount: 'pki-int', roles: ['web', 'mtls'], domains: ['*.mesh.internal'] },
  ],
};

function refusals(c: Omit<PkiInput, 'kind'>) {
  const ctx = ruleContext(allow, { credential: { kind: 'vault-pki-certificate', ...c } });
  const cred = ctx.playbook.spec.credential;
  if (cred.kind !== 'vault-pki-certificate') throw new Error('not a pki credential');
  return vaultPkiRefusals(ctx, cred);
}

describe('vault-pki-certificate', () => {
  it("allows the tenant's roles on their mounts for names under their domains (exact, below, wildcard)", () => {
    expect(refusals({ role: 'web', commonName: 'api.team.example.com', altNames: ['team.example.com'] })).toEqual([]);
    expect(refusals({ role: 'web', commonName: '*.team.example.com' })).toEqual([]);
    expect(refusals({ mount: 'pki-int', role: 'mtls', commonName: 'a.b.mesh.internal' })).toEqual([]);
  });

  it('refuses a role not listed for the mount, naming spec.credential.role', () => {
    expect(refusals({ role: 'mtls', commonName: 'api.team.example.com' })).toEqual([
      {
        path: 'spec.credential.role',
        rule: 'tenants[team].allow.pki',
        message: "PKI role 'pki/issue/mtls' is not one the tenant may issue certificates from",
        fix: 'add { mount: pki, roles: [mtls], domains: [...] } to allow.pki under tenant team',
      },
    ]);
    expect(refusals({ mount: 'pki-other', role: 'web', commonName: 'api.team.example.com' })[0]?.path).toBe(
      'spec.credential.role',
    );
  });

  it("refuses each name outside the role's domains, by field: another team's name, a look-alike, a domain of another mount", () => {
    const out = refusals({
      role: 'web',
      commonName: 'api.other.example.com',
      altNames: ['ok.team.example.com', 'evilteam.example.com', 'x.mesh.internal'],
    });
    expect(out.map((r) => r.path)).toEqual([
      'spec.credential.commonName',
      'spec.credential.altNames[1]',
      'spec.credential.altNames[2]',
    ]);
    expect(out[0]?.message).toBe(
      "certificate name 'api.other.example.com' is not among the names the tenant may have issued from pki/issue/web (*.team.example.com, team.example.com)",
    );
  });

  it('allows nothing without an allow.pki grant', () => {
    const ctx = ruleContext({}, { credential: { kind: 'vault-pki-certificate', role: 'web', commonName: 'a.b.c' } });
    const cred = ctx.playbook.spec.credential;
    if (cred.kind !== 'vault-pki-certificate') throw new Error('not a pki credential');
    expect(vaultPkiRefusals(ctx, cred).map((r) => r.rule)).toEqual(['tenants[team].allow.pki']);
  });
});
