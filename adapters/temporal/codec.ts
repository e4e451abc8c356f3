import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import proto from '@temporalio/proto';

// The proto package is CommonJS; Node's ESM loader exposes it as a default export only.
const { temporal } = proto;

const ENCODING = 'binary/encrypted';
const KEY_ID = 'rotor-aes-256-gcm';

/**
 * AES-256-GCM payload codec: defence in depth on top of "no secret values in Temporal". Every
 * payload (inputs, results, signals, queries, memos, and failure text) is encrypted before it
 * leaves the process; the key comes from ROTOR_CODEC_KEY(_FILE) and is held by workers, the CLI
 * and the codec server only.
 */
export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('codec key must be 32 bytes');
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((p) => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', this.key, iv);
        const plain = temporal.api.common.v1.Payload.encode(p).finish();
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: {
            [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
            'encryption-key-id': Buffer.from(KEY_ID),
          },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((p) => {
        const encoding = p.metadata?.[METADATA_ENCODING_KEY];
        if (!encoding || Buffer.from(encoding).toString() !== ENCODING || !p.data) return p;
        const data = Buffer.from(p.data);
        const iv = data.subarray(0, 12);
        const tag = data.subarray(data.length - 16);
        const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
        return temporal.api.common.v1.Payload.decode(plain);
      }),
    );
  }
}
