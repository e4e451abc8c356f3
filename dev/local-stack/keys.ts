import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stackEnv } from './config';
import type { StackContext } from './service';

/**
 * Creates, once, the worker-only keys of the local stack: the fingerprint HMAC key and the payload
 * codec key (32 random bytes, hex, mode 0600). Existing keys are kept so fingerprints and encrypted
 * histories stay readable across restarts.
 */
export function ensureKeys(ctx: StackContext): void {
  const env = stackEnv(ctx.paths);
  for (const file of [env['ROTOR_FINGERPRINT_KEY_FILE'], env['ROTOR_CODEC_KEY_FILE']]) {
    if (!file || existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    ctx.log(`created key ${file}`);
  }
}
