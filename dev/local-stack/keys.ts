import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ports, stackEnv } from './config';
import type { StackPaths } from './config';
import type { StackContext } from './service';

/** The stack codec server's token (service `codec`): not in `stackEnv`, the worker never needs it. */
export function codecServerTokenFile(paths: StackPaths): string {
  return join(paths.stateDir, 'keys', 'codec-server.token');
}

/**
 * The codec endpoint the stack's Temporal UI calls: the token rides in the path, because the dev
 * server's UI has no login and so no access token to pass (docs/production.md#codec-server).
 */
export function stackCodecEndpoint(paths: StackPaths): string {
  const token = readFileSync(codecServerTokenFile(paths), 'utf8').trim();
  return `http://127.0.0.1:${ports.codecServer}/t/${token}`;
}

/**
 * Creates, once, the keys of the local stack: the worker's fingerprint HMAC key and payload codec
 * key, the codec server's token, rotor's Redis admin password and the password of rotor's MariaDB
 * admin account (32 random bytes, hex, mode 0600). Existing keys are kept so fingerprints and
 * encrypted histories stay readable across restarts.
 */
export function ensureKeys(ctx: StackContext): void {
  const env = stackEnv(ctx.paths);
  for (const file of [
    env['ROTOR_FINGERPRINT_KEY_FILE'],
    env['ROTOR_CODEC_KEY_FILE'],
    env['ROTOR_REDIS_PASSWORD_FILE'],
    env['ROTOR_MARIADB_PASSWORD_FILE'],
    codecServerTokenFile(ctx.paths),
  ]) {
    if (!file || existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    ctx.log(`created key ${file}`);
  }
}
