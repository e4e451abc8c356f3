import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec, compressFrom } from './codec';

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

  it('refuses a payload compressed in a way it does not know, naming it', async () => {
    const [encoded] = await codec.encode([json(fleet(10_000))]);
    const forged = { ...encoded, metadata: { ...encoded?.metadata, 'rotor-compression': Buffer.from('zstd') } };
    await expect(codec.decode([forged])).rejects.toThrow(/compressed with 'zstd', which this rotor cannot read/);
  });
});
