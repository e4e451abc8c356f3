import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Keyring } from '../keys';
import { keyring, singleKeyId } from '../keys';
import { refusedPayload } from '../../core/refused-payload';
import type { RefusedPayloadReason } from '../../core/refused-payload';

// The proto package is CommonJS; Node's ESM loader exposes it as a default export only.
const { temporal } = proto;

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
/** Metadata naming the compression applied before encryption; absent: none (every payload before it existed). */
const COMPRESSION = 'rotor-compression';
const DEFLATE = 'deflate-raw';
/**
 * Payloads at least this large (encoded, before encryption) are compressed first. A fleet's cluster
 * list repeats itself (names, contexts, namespaces), so a 10,000-cluster playbook of 1.3 MB, over
 * Temporal's 512 KB warning and near its 2 MB limit, deflates to about a tenth; smaller payloads are
 * written exactly as before, readable by a worker that predates compression.
 */
export const compressFrom = 32 * 1024;

/**
 * The payload a refusing codec decodes a refused one to: the JSON marker of core/refused-payload,
 * with nothing of the refused payload in it (deterministic, so a history replays the same way).
 */
export function refusalMarkerPayload(reason: RefusedPayloadReason): Payload {
  return {
    metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') },
    data: Buffer.from(JSON.stringify(refusedPayload(reason))),
  };
}

function decrypt(key: Buffer, data: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}

/**
 * AES-256-GCM payload codec: defence in depth on top of "no secret values in Temporal". Every
 * payload (inputs, results, signals, queries, memos, and failure text) is encrypted before it
 * leaves the process, under the keyring's newest key, whose id travels in the payload's metadata;
 * decoding picks the key by that id, so runs started under an older key stay readable while it is
 * listed. Keys come from ROTOR_CODEC_KEYS / ROTOR_CODEC_KEY(_FILE), held by workers, the CLI and
 * the codec server only.
 */
export class AesGcmCodec implements PayloadCodec {
  private readonly ring: Keyring;
  private readonly refusePlaintext: boolean;

  /**
   * With `refusePlaintext` (workers), a payload that is not encrypted, or that no listed key
   * decrypts, decodes to the refusal marker (core/refused-payload) instead: a client without the
   * codec key cannot hand a worker any input, and cannot freeze a running workflow either (a
   * throw here would fail the whole activation, and every later one). The workflow and activity
   * interceptors refuse the marker. Clients, the codec server and replay of decoded fixtures pass
   * plaintext through, and throw on a payload they cannot decrypt.
   */
  constructor(keys: Keyring | Buffer, opts: { refusePlaintext?: boolean } = {}) {
    this.refusePlaintext = opts.refusePlaintext ?? false;
    this.ring = Buffer.isBuffer(keys) ? keyring([{ id: singleKeyId, key: keys }]) : keys;
    if (this.ring.all.some((k) => k.key.length !== 32)) throw new Error('codec keys must be 32 bytes');
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.ring.newest;
    return Promise.resolve(
      payloads.map((p) => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        const encoded = temporal.api.common.v1.Payload.encode(p).finish();
        // Compressed before encryption (ciphertext does not compress). Length can tell nothing of a
        // secret here: no payload holds one (names, version ids and keyed fingerprints only).
        const compress = encoded.length >= compressFrom;
        const plain = compress ? deflateRawSync(encoded) : encoded;
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: {
            [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
            [KEY_ID]: Buffer.from(id),
            ...(compress ? { [COMPRESSION]: Buffer.from(DEFLATE) } : {}),
          },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    // In an executor, so an undecryptable payload rejects rather than throws.
    return new Promise((resolve) =>
      resolve(
        payloads.map((p) => {
          const encoding = p.metadata?.[METADATA_ENCODING_KEY];
          if (!encoding || Buffer.from(encoding).toString() !== ENCODING || !p.data) {
            return this.refusePlaintext ? refusalMarkerPayload('unencrypted') : p;
          }
          const rawId = p.metadata?.[KEY_ID];
          const id = rawId ? Buffer.from(rawId).toString() : '(none)';
          const named = this.ring.byId(id);
          // Payloads written before keyrings carry one constant id (or one an operator has since
          // renamed): GCM authenticates, so trying every listed key cannot decode to garbage.
          const candidates = named ? [named] : this.ring.all.map((k) => k.key);
          const compression = p.metadata?.[COMPRESSION] ? Buffer.from(p.metadata[COMPRESSION]).toString() : undefined;
          if (compression !== undefined && compression !== DEFLATE) {
            // Metadata is not authenticated: a keyless client could set any flag, and a throw here
            // would freeze the run as a plaintext payload once did.
            if (this.refusePlaintext) return refusalMarkerPayload('undecryptable');
            throw new Error(
              `payload compressed with '${compression}', which this rotor cannot read (it reads ${DEFLATE}); upgrade this process to the build that wrote it`,
            );
          }
          for (const key of candidates) {
            let plain: Buffer;
            try {
              plain = decrypt(key, Buffer.from(p.data));
            } catch {
              // Wrong key: the auth tag does not verify; try the next one.
              continue;
            }
            return temporal.api.common.v1.Payload.decode(compression ? inflateRawSync(plain) : plain);
          }
          if (this.refusePlaintext) return refusalMarkerPayload('undecryptable');
          throw new Error(
            `payload encrypted with codec key '${id}' cannot be decrypted by any key in ${this.ring.source} (${this.ring.all.map((k) => k.id).join(', ')}); was that key retired while a run still used it?`,
          );
        }),
      ),
    );
  }
}
