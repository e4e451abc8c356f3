import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { loadKeyring } from '../keys';
import { AesGcmCodec } from './codec';

/** The codec of rotor processes: the keyring of ROTOR_CODEC_KEYS / ROTOR_CODEC_KEY(_FILE). */
export function rotorCodec(env: NodeJS.ProcessEnv = process.env): AesGcmCodec {
  return new AesGcmCodec(loadKeyring('ROTOR_CODEC_KEY', env));
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

/** Worker side: the codec plus a failure converter that encrypts failure messages as well. */
export function workerDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return { ...rotorDataConverter(env), failureConverterPath };
}
