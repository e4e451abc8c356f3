import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isRefusedPayload, refusedPayload } from '../../core/refused-payload';
import { AesGcmCodec, compressFrom } from './codec';

const plain: Payload = defaultPayloadConverter.toPayload({ by: 'mallory' });
const worker = () => new AesGcmCodec(randomBytes(32), { refusePlaintext: true });
const decoded = (p: Payload | undefined) => defaultPayloadConverter.fromPayload(p as Payload);

const json = (value: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString();
/** A fleet's cluster list as a playbook carries it: repetitive, as real ones are. */
const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `c${i}`,
    context: `cluster-${'abc'[i % 3] ?? 'a'}`,
    delivery: 'push',
    namespace: `payments-${i}`,
    secretName: 'app-secret',
    workloads: [],
  }));

describe('the worker codec and payloads it refuses', () => {
  it('decodes an unencrypted payload to the refusal marker, carrying nothing of it', async () => {
    const [out] = await worker().decode([plain]);
    expect(decoded(out)).toEqual(refusedPayload('unencrypted'));
    expect(isRefusedPayload(decoded(out))).toBe(true);
    expect(Buffer.from(out?.data ?? []).toString()).not.toContain('mallory');
  });

  it('gives the same marker for the same payload every time, so a history replays the same', async () => {
    const codec = worker();
    const a = await codec.decode([plain, { metadata: {}, data: Buffer.from('x') }, {}]);
    const b = await worker().decode([plain, { metadata: {}, data: Buffer.from('x') }, {}]);
    expect(b).toEqual(a);
    expect(a.map(decoded)).toEqual(Array(3).fill(refusedPayload('unencrypted')));
  });

  it('decodes a payload no listed key decrypts (forged or of a retired key) to the undecryptable marker', async () => {
    const [other] = await new AesGcmCodec(randomBytes(32)).encode([plain]);
    const forged: Payload = { ...other, data: randomBytes(40) };
    const out = await worker().decode([other as Payload, forged]);
    expect(out.map(decoded)).toEqual([refusedPayload('undecryptable'), refusedPayload('undecryptable')]);
  });

  it('still decodes its own encrypted payloads, and only refuses the plaintext ones beside them', async () => {
    const codec = worker();
    const [mine] = await codec.encode([plain]);
    const out = await codec.decode([mine as Payload, plain]);
    expect(out.map(decoded)).toEqual([{ by: 'mallory' }, refusedPayload('unencrypted')]);
  });

  it('clients and the codec server pass plaintext through and throw on what they cannot decrypt', async () => {
    const client = new AesGcmCodec(randomBytes(32));
    expect(await client.decode([plain])).toEqual([plain]);
    const [other] = await new AesGcmCodec(randomBytes(32)).encode([plain]);
    await expect(client.decode([other as Payload])).rejects.toThrow(/cannot be decrypted by any key/);
  });

  it('the marker is told apart from ordinary values', () => {
    for (const v of [undefined, null, 'rotor.refusedPayload', { by: 'x' }, ['rotor.refusedPayload']])
      expect(isRefusedPayload(v)).toBe(false);
  });
});

describe('codec compression of large payloads', () => {
  const codec = new AesGcmCodec(randomBytes(32), { refusePlaintext: true });

  it('deflates a payload from compressFrom bytes before encrypting it, and decodes it back unchanged', async () => {
    const big = json(fleet(10_000));
    expect(big.data?.length).toBeGreaterThan(compressFrom);
    const [encoded] = await codec.encode([big]);
    expect(text(encoded?.metadata?.['rotor-compression'])).toBe('deflate-raw');
    // A tenth or less of the plain size: what keeps a 10,000-cluster input under 512 KB.
    expect(encoded?.data?.length).toBeLessThan((big.data?.length ?? 0) / 10);
    const [decoded] = await codec.decode(encoded ? [encoded] : []);
    expect(text(decoded?.data)).toBe(text(big.data));
    expect(text(decoded?.metadata?.['encoding'])).toBe('json/plain');
  });

  it('writes a small payload exactly as before compression existed (no flag), readable by an older worker', async () => {
    const [encoded] = await codec.encode([json(fleet(3))]);
    expect(encoded?.metadata).not.toHaveProperty('rotor-compression');
    const [decoded] = await codec.decode(encoded ? [encoded] : []);
    expect(text(decoded?.data)).toBe(JSON.stringify(fleet(3)));
  });

  it('a client refuses a payload compressed in a way it does not know, naming it; a worker decodes it to the marker', async () => {
    const key = randomBytes(32);
    const [encoded] = await new AesGcmCodec(key).encode([json(fleet(10_000))]);
    const forged = { ...encoded, metadata: { ...encoded?.metadata, 'rotor-compression': Buffer.from('zstd') } };
    await expect(new AesGcmCodec(key).decode([forged])).rejects.toThrow(
      /compressed with 'zstd', which this rotor cannot read/,
    );
    // Metadata is not authenticated: a throw on a worker would freeze the run.
    const [refused] = await new AesGcmCodec(key, { refusePlaintext: true }).decode([forged]);
    expect(decoded(refused)).toEqual(refusedPayload('undecryptable'));
  });
});
