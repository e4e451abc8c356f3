/** One Vault API call with the stack's root token: status and JSON body. */
export type VaultCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: unknown }>;

/** The stack's PKI for `vault-pki-certificate`: mount, root CA and the role leaves are issued under. */
export const stackPki = {
  mount: 'pki',
  rootCommonName: 'rotor-dev-root',
  /** Leaves under `*.rotor.test` (the domain rotor's tests and demos use), at most 72 h. */
  leafRole: 'rotor-leaf',
  leafDomain: 'rotor.test',
  /** A second role (another team's, in the policy-abuse tests): `*.other.test`. */
  otherRole: 'other-team',
  otherDomain: 'other.test',
} as const;

async function ok(call: VaultCall, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await call(method, path, body);
  if (res.status >= 300) {
    const errors = (res.json as { errors?: unknown } | undefined)?.errors;
    throw new Error(
      `vault: ${method} ${path} failed (HTTP ${res.status}): ${Array.isArray(errors) ? errors.map(String).join('; ') : JSON.stringify(res.json)}`,
    );
  }
  return res.json;
}

/**
 * Sets up the stack's PKI engine at `pki/`, idempotently: a root CA `rotor-dev-root` (EC P-256,
 * 10 years; generated only when the mount has no issuer), CRL and issuing URLs on the plaintext
 * listener, and the roles `rotor-leaf` (`*.rotor.test`) and `other-team` (`*.other.test`), EC
 * P-256 leaves of at most 72 h. The CA-rollover playbook's tests use a mount of their own.
 */
export async function ensureStackPki(call: VaultCall, address: string): Promise<void> {
  const { mount } = stackPki;
  const mounted = await call('POST', `sys/mounts/${mount}`, {
    type: 'pki',
    config: { max_lease_ttl: '87600h' },
  });
  if (mounted.status >= 300) {
    const text = JSON.stringify(mounted.json);
    if (!(mounted.status === 400 && text.includes('path is already in use')))
      throw new Error(`vault: enabling the pki secrets engine at ${mount}/ failed (HTTP ${mounted.status}): ${text}`);
  }
  const issuers = await call('LIST', `${mount}/issuers`);
  const keys = (issuers.json as { data?: { keys?: string[] } } | undefined)?.data?.keys ?? [];
  if (issuers.status === 404 || keys.length === 0)
    await ok(call, 'POST', `${mount}/root/generate/internal`, {
      common_name: stackPki.rootCommonName,
      issuer_name: stackPki.rootCommonName,
      key_type: 'ec',
      key_bits: 256,
      ttl: '87600h',
    });
  await ok(call, 'POST', `${mount}/config/urls`, {
    issuing_certificates: [`${address}/v1/${mount}/ca`],
    crl_distribution_points: [`${address}/v1/${mount}/crl`],
  });
  for (const [role, domain] of [
    [stackPki.leafRole, stackPki.leafDomain],
    [stackPki.otherRole, stackPki.otherDomain],
  ] as const)
    await ok(call, 'POST', `${mount}/roles/${role}`, {
      allowed_domains: [domain],
      allow_subdomains: true,
      allow_bare_domains: false,
      allow_localhost: false,
      allow_ip_sans: false,
      key_type: 'ec',
      key_bits: 256,
      max_ttl: '72h',
      ttl: '24h',
    });
}
