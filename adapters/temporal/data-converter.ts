import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { loadKeyring } from '../keys';
import { AesGcmCodec } from './codec';

/** The codec of rotor processes: the keyring of ROTOR_CODEC_KEYS / ROTOR_CODEC_KEY(_FILE). */
export function rotorCodec(
  env: NodeJS.ProcessEnv = process.env,
  opts: { refusePlaintext?: boolean } = {},
): AesGcmCodec {
  return new AesGcmCodec(loadKeyring('ROTOR_CODEC_KEY', env), opts);
}

/**
 * The data converter of rotor clients: the AES-GCM codec. Decoding encrypted failure attributes
 * needs only the codec, so clients do not load the worker's failure converter.
 */
export function rotorDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return { payloadCodecs: [rotorCodec(env)] };
}

/**
 * The failure converter module; workflow bundles must include it (see workers/bundle.ts), and the
 * worker loads it by path for activities. From source that is the `.ts` file beside this one; in the
 * worker image's esbuild bundle (dev/image/worker-bundle.ts) it is `failure-converter.cjs` beside it.
 */
export const failureConverterPath = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './failure-converter.ts' : './failure-converter.cjs', import.meta.url),
);

/**
 * Worker side: the codec, refusing unencrypted payloads (a client without the codec key reaches no
 * workflow or activity), plus a failure converter that encrypts failure messages as well. Replay of
 * fixtures stored decoded passes `{ acceptPlaintext: true }`.
 */
export function workerDataConverter(
  env: NodeJS.ProcessEnv = process.env,
  opts: { acceptPlaintext?: boolean } = {},
): DataConverter {
  return { payloadCodecs: [rotorCodec(env, { refusePlaintext: !opts.acceptPlaintext })], failureConverterPath };
}
