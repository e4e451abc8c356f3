import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { temporalEndpoint } from './envconfig';

const dir = mkdtempSync(join(tmpdir(), 'rotor-envconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pem = (name: string, body: string) => {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
};
const ca = pem('ca.pem', 'CA BYTES');
const crt = pem('client.pem', 'CERT BYTES');
const key = pem('client.key', 'KEY BYTES');
const toml = pem(
  'temporal.toml',
  [
    '[profile.default]',
    'address = "127.0.0.1:7233"',
    '[profile.prod]',
    'address = "temporal.example:7233"',
    'namespace = "rotor-prod"',
    '[profile.prod.tls]',
    `server_ca_cert_path = "${ca}"`,
    `client_cert_path = "${crt}"`,
    `client_key_path = "${key}"`,
    'server_name = "temporal.internal"',
    '',
  ].join('\n'),
);
// HOME points into the temp dir: no developer's own ~/.config/temporalio/temporal.toml leaks in.
const base = { HOME: dir };

describe('temporalEndpoint (Temporal envconfig)', () => {
  it('defaults to the plaintext dev server', () => {
    const ep = temporalEndpoint(base);
    expect(ep).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', tls: undefined, apiKey: undefined });
    expect(ep.describe).toContain('plaintext');
  });

  it('reads TLS files named by TEMPORAL_TLS_* variables', () => {
    const ep = temporalEndpoint({
      ...base,
      TEMPORAL_ADDRESS: '10.0.0.1:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: crt,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    });
    expect(Buffer.from(ep.tls?.serverRootCACertificate ?? []).toString()).toBe('CA BYTES');
    expect(Buffer.from(ep.tls?.clientCertPair?.crt ?? []).toString()).toBe('CERT BYTES');
    expect(ep.describe).toContain('TLS, CA from config, client certificate');
  });

  it('takes a temporal.toml profile, with variables overriding it', () => {
    const ep = temporalEndpoint({ ...base, TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
    expect(ep).toMatchObject({ address: 'temporal.example:7233', namespace: 'rotor-prod' });
    expect(ep.tls?.serverNameOverride).toBe('temporal.internal');
    const over = temporalEndpoint({
      ...base,
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'other',
    });
    expect(over.namespace).toBe('other');
  });

  it('refuses plaintext to a Temporal server beyond this machine, naming TEMPORAL_ADDRESS and TEMPORAL_TLS', () => {
    expect(() => temporalEndpoint({ ...base, TEMPORAL_ADDRESS: 'temporal.example:7233' })).toThrow(
      'TEMPORAL_ADDRESS temporal.example:7233 is beyond this machine and TLS is off: workflow inputs, signals and results would travel in cleartext; set TEMPORAL_TLS=true',
    );
    expect(temporalEndpoint({ ...base, TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_TLS: 'true' }).tls).toEqual(
      {},
    );
    expect(temporalEndpoint({ ...base, TEMPORAL_ADDRESS: '[::1]:7233' }).tls).toBeUndefined();
    expect(temporalEndpoint({ ...base, TEMPORAL_ADDRESS: 'localhost:7233' }).tls).toBeUndefined();
  });

  it('an API key turns TLS on and is never in the description', () => {
    const ep = temporalEndpoint({ ...base, TEMPORAL_API_KEY: 'sekret-key' });
    expect(ep.tls).toEqual({});
    expect(ep.apiKey).toBe('sekret-key');
    expect(ep.describe).not.toContain('sekret-key');
  });

  it('refuses a missing certificate file, naming the variable and the path', () => {
    const missing = join(dir, 'nope.pem');
    expect(() => temporalEndpoint({ ...base, TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing })).toThrow(
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH names ${missing}, which cannot be read`,
    );
  });

  it('names the profile key when the file is what names a missing certificate', () => {
    const broken = pem('broken.toml', `[profile.x.tls]\nclient_cert_path = "${join(dir, 'gone.crt')}"\n`);
    expect(() => temporalEndpoint({ ...base, TEMPORAL_CONFIG_FILE: broken, TEMPORAL_PROFILE: 'x' })).toThrow(
      `tls.client_cert_path of profile 'x' in ${broken}`,
    );
  });

  it('refuses an unknown profile, listing the ones there are', () => {
    expect(() => temporalEndpoint({ ...base, TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toThrow(
      `TEMPORAL_PROFILE 'staging' is not a profile in ${toml} (profiles: default, prod)`,
    );
    expect(() => temporalEndpoint({ ...base, TEMPORAL_PROFILE: 'staging' })).toThrow(/which does not exist/);
  });

  it('refuses a TEMPORAL_CONFIG_FILE that does not exist', () => {
    expect(() => temporalEndpoint({ ...base, TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') })).toThrow(
      /TEMPORAL_CONFIG_FILE names .*none\.toml, which does not exist/,
    );
  });

  it('never turns verification off, by variable or by file', () => {
    expect(() => temporalEndpoint({ ...base, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toThrow(
      /rotor never turns TLS verification off/,
    );
    const off = pem('off.toml', '[profile.default.tls]\ndisable_host_verification = true\n');
    expect(() => temporalEndpoint({ ...base, TEMPORAL_CONFIG_FILE: off })).toThrow(
      /disable_host_verification.*rotor never turns TLS verification off/,
    );
  });

  it('refuses half a client certificate and credentials over plaintext', () => {
    expect(() => temporalEndpoint({ ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: crt })).toThrow(
      /needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
    );
    expect(() => temporalEndpoint({ ...base, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toThrow(
      /would travel in cleartext/,
    );
  });
});
