import { ports, stackEnv } from '../config';
import { codecServerTokenFile, stackCodecEndpoint } from '../keys';
import { ensurePortFree, probe, startTsxProcess } from '../process';
import type { StackService } from '../service';

/**
 * rotor's codec server (workers/codec-server-main.ts) for the stack's Temporal UI, which `temporal`
 * starts with `--ui-codec-endpoint` pointing here: loopback only, the UI's origin only, and the
 * stack's token (`<state>/keys/codec-server.token`) required on every request.
 */
export const codec: StackService = {
  name: 'codec',
  version: 'rotor',
  dependsOn: [],
  address: `http://127.0.0.1:${ports.codecServer} (token: <state>/keys/codec-server.token)`,
  async install() {},
  async start(ctx) {
    await ensurePortFree(ports.codecServer, 'codec');
    startTsxProcess(ctx, 'codec', 'workers/codec-server-main.ts', [], {
      ...stackEnv(ctx.paths),
      ROTOR_CODEC_HOST: '127.0.0.1',
      ROTOR_CODEC_PORT: String(ports.codecServer),
      ROTOR_CODEC_SERVER_TOKEN_FILE: codecServerTokenFile(ctx.paths),
    });
  },
  async health(ctx) {
    // A real decode through the token path, as the UI sends it: proves the port, the token and the key.
    const status = await probe(`${stackCodecEndpoint(ctx.paths)}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ payloads: [] }),
    });
    if (status === undefined) return `no answer on ${ports.codecServer}`;
    return status === 200 ? undefined : `decode with the stack's token answered ${status}`;
  },
};
