import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { loadKey } from '../keys';
import { AesGcmCodec } from './codec';

/**
 * The data converter of rotor clients: the AES-GCM codec. Decoding encrypted failure attributes
 * needs only the codec, so clients do not load the worker's failure converter.
 */
export function rotorDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return { payloadCodecs: [new AesGcmCodec(loadKey('ROTOR_CODEC_KEY', env))] };
}

/** Worker side: the codec plus a failure converter that encrypts failure messages as well. */
export function workerDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return {
    ...rotorDataConverter(env),
    failureConverterPath: fileURLToPath(new URL('./failure-converter.ts', import.meta.url)),
  };
}
