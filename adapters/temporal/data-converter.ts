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

/** The failure converter module; workflow bundles must include it (see workers/bundle.ts). */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

/** Worker side: the codec plus a failure converter that encrypts failure messages as well. */
export function workerDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return { ...rotorDataConverter(env), failureConverterPath };
}
