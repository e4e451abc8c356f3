import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeRedis, withRedisSession } from '../../../adapters/redis';
import { devCredentials, ports, redisTlsDir, stackEnv } from '../config';
import type { StackPaths } from '../config';
import { loopbackPki, ensureLoopbackPki } from '../pki';
import { ensurePortFree, healthProbeTimeoutMs, startProcess } from '../process';
import type { StackService } from '../service';
import { ensureDebianPackages } from '../toolchain';

const serverBin = '/usr/bin/redis-server';

function installedVersion(): string {
  if (!existsSync(serverBin)) return 'not installed';
  try {
    return /v=(\S+)/.exec(execFileSync(serverBin, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** rotor's Redis admin password (a stack key, made by `ensureKeys`). */
export function redisAdminPassword(paths: StackPaths): string {
  const file = stackEnv(paths)['ROTOR_REDIS_PASSWORD_FILE'] ?? '';
  return readFileSync(file, 'utf8').trim();
}

/**
 * The ACL file's users: `default` is off (no anonymous access), and rotor's admin user may run ACL
 * commands and PING only. Users rotor or tests added (saved by `ACL SAVE`) are kept across restarts;
 * these two lines are written anew each start, so a new admin password takes effect.
 */
function writeAclFile(file: string, adminPassword: string): void {
  const own = (line: string) => /^user (default|rotor) /.test(line);
  const kept = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !own(l))
    : [];
  const hash = createHash('sha256').update(adminPassword).digest('hex');
  writeFileSync(
    file,
    [
      'user default off resetpass resetkeys resetchannels -@all',
      `user ${devCredentials.redisAdminUser} on #${hash} resetkeys resetchannels -@all +acl +ping`,
      ...kept,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

/** `redis-server` arguments: loopback only, plaintext and TLS ports, users in an ACL file, no persistence of data. */
export function redisArgs(base: string, tls: { cert: string; key: string; ca: string }): string[] {
  // prettier-ignore
  return [
    '--bind', '127.0.0.1', '--port', String(ports.redis), '--protected-mode', 'yes',
    '--tls-port', String(ports.redisTls), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key,
    '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no',
    '--dir', join(base, 'data'), '--aclfile', join(base, 'users.acl'),
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '',
  ];
}

/**
 * Redis from Debian's package (7.x): a real credential target for `redis-acl-user`. Plaintext on
 * 127.0.0.1:`ports.redis`, TLS on `ports.redisTls` with a certificate from the stack's CA
 * (`redisTlsDir`); rotor administers users as `rotor` with the password in ROTOR_REDIS_PASSWORD_FILE.
 */
export const redis: StackService = {
  name: 'redis',
  get version() {
    return installedVersion();
  },
  dependsOn: [],
  address: `redis://127.0.0.1:${ports.redis}, rediss://127.0.0.1:${ports.redisTls} (TLS)`,
  async install(ctx) {
    await ensureDebianPackages(ctx, 'Redis', ['redis-server'], () => existsSync(serverBin));
  },
  async start(ctx) {
    await ensurePortFree(ports.redis, 'redis');
    await ensurePortFree(ports.redisTls, 'redis');
    if (!existsSync(serverBin)) throw new Error("redis: redis-server missing; run 'dev/stack up redis' to install it");
    const base = join(ctx.paths.stateDir, 'redis');
    mkdirSync(join(base, 'data'), { recursive: true, mode: 0o700 });
    const pki = await ensureLoopbackPki(redisTlsDir(ctx.paths), 'rotor-dev-redis-ca');
    writeAclFile(join(base, 'users.acl'), redisAdminPassword(ctx.paths));
    const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert };
    startProcess(ctx, 'redis', serverBin, redisArgs(base, tls));
  },
  async health(ctx) {
    const problems: string[] = [];
    let password: string;
    try {
      password = redisAdminPassword(ctx.paths);
    } catch (e) {
      return `no admin password: ${(e as Error).message}`;
    }
    const ca = existsSync(loopbackPki(redisTlsDir(ctx.paths)).ca.cert)
      ? readFileSync(loopbackPki(redisTlsDir(ctx.paths)).ca.cert, 'utf8')
      : undefined;
    for (const t of [
      { host: '127.0.0.1', port: ports.redis, tls: false },
      { host: '127.0.0.1', port: ports.redisTls, tls: true },
    ]) {
      try {
        const login = { username: devCredentials.redisAdminUser, password };
        await withRedisSession(t, login, { ca, timeoutMs: healthProbeTimeoutMs }, (r) => r.ping());
      } catch (e) {
        problems.push(`${describeRedis(t)}: ${(e as Error).message}`);
      }
    }
    return problems.length ? problems.join('; ') : undefined;
  },
};
