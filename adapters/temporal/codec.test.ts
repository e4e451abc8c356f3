import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isRefusedPayload, refusedPayload } from '../../core/refused-payload';
import { AesGcmCodec } from './codec';

const plain: Payload = defaultPayloadConverter.toPayload({ by: 'mallory' });
const worker = () => new AesGcmCodec(randomBytes(32), { refusePlaintext: true });
const decoded = (p: Payload | undefined) => defaultPayloadConverter.fromPayload(p as Payload);

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
