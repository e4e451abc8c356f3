import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprinter } from './fingerprint';
import { loadKeyring } from './keys';
import { AesGcmCodec } from './temporal/codec';

const { temporal } = proto;
const k = () => randomBytes(32);
const b64 = (b: Buffer) => b.toString('base64');
const plain: Payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"v7"') };
/** What a decoded payload holds, comparable with `plain`. */
const shown = (ps: Payload[]) => ps.map((p) => Buffer.from(p.data ?? []).toString());
const keyIdOf = (p: Payload | undefined) => Buffer.from(p?.metadata?.['encryption-key-id'] ?? []).toString();

/** A payload as the codec wrote it before keyrings: one constant key id for every key. */
function legacyPayload(key: Buffer): Payload {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = temporal.api.common.v1.Payload.encode(plain).finish();
  return {
    metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('rotor-aes-256-gcm') },
    data: Buffer.concat([iv, c.update(body), c.final(), c.getAuthTag()]),
  };
}

describe('keyring configuration', () => {
  it('reads an id=key list newest first, base64 or hex, and keeps the single-key variable readable as "default"', () => {
    const [a, b, old] = [k(), k(), k()];
    const ring = loadKeyring('ROTOR_CODEC_KEY', {
      ROTOR_CODEC_KEYS: `k3=${b64(a)}, k2=${b.toString('hex')}`,
      ROTOR_CODEC_KEY: b64(old),
    });
    expect(ring.all.map((x) => x.id)).toEqual(['k3', 'k2', 'default']);
    expect(ring.newest.key.equals(a)).toBe(true);
    expect(ring.byId('k2')?.equals(b)).toBe(true);
    expect(ring.byId('default')?.equals(old)).toBe(true);
    // The single key alone, as before keyrings.
    expect(loadKeyring('ROTOR_CODEC_KEY', { ROTOR_CODEC_KEY: b64(old) }).newest.id).toBe('default');
    // Listed under its own id already: not repeated.
    const same = loadKeyring('ROTOR_CODEC_KEY', { ROTOR_CODEC_KEYS: `k1=${b64(old)}`, ROTOR_CODEC_KEY: b64(old) });
    expect(same.all.map((x) => x.id)).toEqual(['k1']);
  });

  it('reads the list from <NAME>S_FILE, one entry a line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-keys-'));
    try {
      const file = join(dir, 'fingerprint.keys');
      const [a, b] = [k(), k()];
      writeFileSync(file, `f2=${b64(a)}\nf1=${b64(b)}\n`);
      const ring = loadKeyring('ROTOR_FINGERPRINT_KEY', { ROTOR_FINGERPRINT_KEYS_FILE: file });
      expect(ring.all.map((x) => x.id)).toEqual(['f2', 'f1']);
      expect(() => loadKeyring('ROTOR_FINGERPRINT_KEY', { ROTOR_FINGERPRINT_KEYS_FILE: join(dir, 'nope') })).toThrow(
        /ROTOR_FINGERPRINT_KEYS_FILE=.*nope cannot be read \(ENOENT\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad lists with the variable and entry named, never echoing key material', () => {
    const secret = b64(randomBytes(16));
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /set ROTOR_CODEC_KEYS \(id=key list, newest first\) or ROTOR_CODEC_KEY/],
      [{ ROTOR_CODEC_KEYS: ' , ' }, /ROTOR_CODEC_KEYS is set but lists no key/],
      [{ ROTOR_CODEC_KEYS: secret }, /ROTOR_CODEC_KEYS entry 1: write 'id=key'/],
      [{ ROTOR_CODEC_KEYS: `k1=${b64(k())},bad:id=${b64(k())}` }, /ROTOR_CODEC_KEYS entry 2: write 'id=key'/],
      [{ ROTOR_CODEC_KEYS: `k1=${secret}` }, /ROTOR_CODEC_KEYS entry 1 \('k1'\) must decode to 32 bytes \(got 16\)/],
      [{ ROTOR_CODEC_KEYS: `k1=${b64(k())},k1=${b64(k())}` }, /entry 2 \('k1'\): key id 'k1' is listed twice/],
      [
        { ROTOR_CODEC_KEYS: `default=${b64(k())}`, ROTOR_CODEC_KEY: b64(k()) },
        /ROTOR_CODEC_KEYS names a key 'default' that differs from ROTOR_CODEC_KEY/,
      ],
    ];
    for (const [env, message] of cases) {
      let error = '';
      try {
        loadKeyring('ROTOR_CODEC_KEY', env);
      } catch (e) {
        error = (e as Error).message;
      }
      expect(error).toMatch(message);
      expect(error).not.toContain(secret);
    }
  });
});

describe('codec keyring', () => {
  it('writes the newest key id, reads every listed key, and names a retired key', async () => {
    const [k1, k2] = [k(), k()];
    const before = new AesGcmCodec(loadKeyring('ROTOR_CODEC_KEY', { ROTOR_CODEC_KEYS: `k1=${b64(k1)}` }));
    const after = new AesGcmCodec(loadKeyring('ROTOR_CODEC_KEY', { ROTOR_CODEC_KEYS: `k2=${b64(k2)},k1=${b64(k1)}` }));
    const retired = new AesGcmCodec(loadKeyring('ROTOR_CODEC_KEY', { ROTOR_CODEC_KEYS: `k2=${b64(k2)}` }));
    const [old] = await before.encode([plain]);
    const [fresh] = await after.encode([plain]);
    expect(keyIdOf(old)).toBe('k1');
    expect(keyIdOf(fresh)).toBe('k2');
    for (const p of [old, fresh]) expect(shown(await after.decode([p as Payload]))).toEqual(['"v7"']);
    await expect(retired.decode([old as Payload])).rejects.toThrow(
      "payload encrypted with codec key 'k1' cannot be decrypted by any key in ROTOR_CODEC_KEYS (k2)",
    );
  });

  it('reads payloads written before keyrings (constant key id) with whichever listed key made them', async () => {
    const [old, fresh] = [k(), k()];
    const ring = new AesGcmCodec(
      loadKeyring('ROTOR_CODEC_KEY', { ROTOR_CODEC_KEYS: `new=${b64(fresh)},old=${b64(old)}` }),
    );
    expect(shown(await ring.decode([legacyPayload(old)]))).toEqual(['"v7"']);
    await expect(ring.decode([legacyPayload(k())])).rejects.toThrow(
      /codec key 'rotor-aes-256-gcm' cannot be decrypted/,
    );
  });
});

describe('fingerprint keyring', () => {
  it('fingerprints under the newest key with its id and verifies each fingerprint under the key that made it', () => {
    const [f1, f2] = [k(), k()];
    const before = fingerprinter(loadKeyring('ROTOR_FINGERPRINT_KEY', { ROTOR_FINGERPRINT_KEYS: `f1=${b64(f1)}` }));
    const after = fingerprinter(
      loadKeyring('ROTOR_FINGERPRINT_KEY', { ROTOR_FINGERPRINT_KEYS: `f2=${b64(f2)},f1=${b64(f1)}` }),
    );
    const old = before.make('s3cret');
    expect(old).toMatch(/^hmac:f1:[0-9a-f]{24}$/);
    expect(after.make('s3cret')).toMatch(/^hmac:f2:[0-9a-f]{24}$/);
    expect(after.make('s3cret')).not.toBe(old);
    expect(after.matches('s3cret', old)).toBe(true);
    expect(after.matches('other', old)).toBe(false);
    expect(after.matches('s3cret', after.make('s3cret'))).toBe(true);
    // Made before keyrings: no id, checked against every listed key.
    expect(after.matches('s3cret', fingerprint('s3cret', f1, 'x').replace(':x:', ':'))).toBe(true);
    expect(after.matches('s3cret', 'hmac:000000000000000000000000')).toBe(false);
    // Retired while a run still uses it: the step fails naming the key, instead of "value changed".
    const retired = fingerprinter(loadKeyring('ROTOR_FINGERPRINT_KEY', { ROTOR_FINGERPRINT_KEYS: `f2=${b64(f2)}` }));
    expect(() => retired.matches('s3cret', old)).toThrow(
      "fingerprint key 'f1', which is not in ROTOR_FINGERPRINT_KEYS (f2)",
    );
  });
});
