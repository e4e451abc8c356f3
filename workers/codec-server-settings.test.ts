import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codecServerSettings } from './codec-server-settings';

const token = 'a-token-of-enough-length';

describe('codec server settings', () => {
  it('serves loopback names only, with the UI origin and its twin, when bound to loopback', () => {
    const s = codecServerSettings({ ROTOR_CODEC_SERVER_TOKEN: token, TEMPORAL_UI_URL: 'http://127.0.0.1:8233' });
    expect(s).toMatchObject({ host: '127.0.0.1', port: 8888, token });
    expect(s.allowedHosts).toEqual(['127.0.0.1:8888', 'localhost:8888', '[::1]:8888']);
    expect(s.allowedOrigins).toEqual(['http://127.0.0.1:8233', 'http://localhost:8233']);
    expect(s.tls).toBeUndefined();
  });

  it('reads the token from a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'codec-')), 'token');
    writeFileSync(file, `${token}\n`);
    expect(codecServerSettings({ ROTOR_CODEC_SERVER_TOKEN_FILE: file }).token).toBe(token);
    expect(() => codecServerSettings({ ROTOR_CODEC_SERVER_TOKEN_FILE: `${file}.missing` })).toThrow(
      /ROTOR_CODEC_SERVER_TOKEN_FILE=.*token\.missing cannot be read \(ENOENT\)/,
    );
  });

  it('refuses to start without a token, or with a short one', () => {
    for (const env of [{}, { ROTOR_CODEC_SERVER_TOKEN: 'short' }])
      expect(() => codecServerSettings(env)).toThrow(/ROTOR_CODEC_SERVER_TOKEN .*16 characters or more/);
  });

  it('refuses to listen beyond loopback without TLS, and without the names clients use', () => {
    expect(() => codecServerSettings({ ROTOR_CODEC_SERVER_TOKEN: token, ROTOR_CODEC_HOST: '0.0.0.0' })).toThrow(
      'ROTOR_CODEC_HOST=0.0.0.0 is not loopback: set ROTOR_CODEC_TLS_CERT_FILE and ROTOR_CODEC_TLS_KEY_FILE',
    );
    const dir = mkdtempSync(join(tmpdir(), 'codec-'));
    for (const f of ['tls.crt', 'tls.key']) writeFileSync(join(dir, f), 'PEM');
    const tls = { ROTOR_CODEC_TLS_CERT_FILE: join(dir, 'tls.crt'), ROTOR_CODEC_TLS_KEY_FILE: join(dir, 'tls.key') };
    expect(() => codecServerSettings({ ROTOR_CODEC_SERVER_TOKEN: token, ROTOR_CODEC_HOST: '0.0.0.0', ...tls })).toThrow(
      /ROTOR_CODEC_PUBLIC_HOSTS must list/,
    );
    const s = codecServerSettings({
      ROTOR_CODEC_SERVER_TOKEN: token,
      ROTOR_CODEC_HOST: '0.0.0.0',
      ROTOR_CODEC_PUBLIC_HOSTS: 'rotor-codec.rotor.svc:8888, Codec.Example.com:443',
      ...tls,
    });
    expect(s.allowedHosts).toEqual(['rotor-codec.rotor.svc:8888', 'codec.example.com:443']);
    expect(s.tls).toEqual({ cert: 'PEM', key: 'PEM' });
    expect(() =>
      codecServerSettings({
        ROTOR_CODEC_SERVER_TOKEN: token,
        ROTOR_CODEC_TLS_CERT_FILE: tls.ROTOR_CODEC_TLS_CERT_FILE,
      }),
    ).toThrow('ROTOR_CODEC_TLS_CERT_FILE and ROTOR_CODEC_TLS_KEY_FILE must be set together');
  });

  it('names the variable of a bad port', () => {
    expect(() => codecServerSettings({ ROTOR_CODEC_SERVER_TOKEN: token, ROTOR_CODEC_PORT: 'http' })).toThrow(
      "ROTOR_CODEC_PORT must be a port number, got 'http'",
    );
  });
});
