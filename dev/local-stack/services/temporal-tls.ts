import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../config';
import type { StackPaths } from '../config';
import { ensurePortFree, portOpen, startTsxProcess } from '../process';
import type { StackService } from '../service';
import { ensureLoopbackPki, loopbackPki } from '../pki';

/** Where the service keeps its PKI and the temporal.toml whose profile `tls` reaches it. */
export function temporalTlsFiles(paths: StackPaths): { dir: string; configFile: string; profile: string } {
  const dir = join(paths.stateDir, 'temporal-tls');
  return { dir, configFile: join(dir, 'temporal.toml'), profile: 'tls' };
}

/** The profile `tls`: the front's address, its CA and the client certificate it requires. */
function writeProfile(paths: StackPaths): void {
  const f = temporalTlsFiles(paths);
  const pki = loopbackPki(f.dir);
  writeFileSync(
    f.configFile,
    [
      `[profile.${f.profile}]`,
      `address = "127.0.0.1:${ports.temporalTls}"`,
      'namespace = "default"',
      `[profile.${f.profile}.tls]`,
      `server_ca_cert_path = "${pki.ca.cert}"`,
      `client_cert_path = "${pki.client.cert}"`,
      `client_key_path = "${pki.client.key}"`,
      '',
    ].join('\n'),
  );
}

/**
 * Temporal over mTLS: `temporal server start-dev` has no TLS flags, so a TLS front
 * (dev/local-stack/tls-front.ts) on its own port forwards to the plaintext frontend, which stays where
 * it was for everything else. Clients reach it with `TEMPORAL_CONFIG_FILE=<state>/temporal-tls/temporal.toml
 * TEMPORAL_PROFILE=tls` (`dev/stack env` prints them as a comment).
 */
export const temporalTls: StackService = {
  name: 'temporal-tls',
  version: 'node-tls',
  dependsOn: ['temporal'],
  address: `127.0.0.1:${ports.temporalTls} (mTLS to 127.0.0.1:${ports.temporal})`,
  async install() {},
  async start(ctx) {
    await ensurePortFree(ports.temporalTls, 'temporal-tls');
    const f = temporalTlsFiles(ctx.paths);
    const pki = await ensureLoopbackPki(f.dir, 'rotor-dev-temporal-ca', 'rotor-dev-worker');
    writeProfile(ctx.paths);
    // prettier-ignore
    startTsxProcess(ctx, 'temporal-tls', 'dev/local-stack/tls-front-main.ts', [
      '--port', String(ports.temporalTls), '--target', `127.0.0.1:${ports.temporal}`,
      '--cert', pki.server.cert, '--key', pki.server.key, '--client-ca', pki.ca.cert,
    ]);
  },
  async health() {
    return (await portOpen(ports.temporalTls)) ? undefined : `TLS port ${ports.temporalTls} not accepting connections`;
  },
};
