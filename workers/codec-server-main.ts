/**
 * rotor codec server entry point: lets the Temporal UI and `temporal` CLI show rotor's encrypted
 * payloads to operators who may see them. Environment: ROTOR_CODEC_KEYS / ROTOR_CODEC_KEY(_FILE) (the
 * workers' codec keyring: every key still listed decodes), ROTOR_CODEC_SERVER_TOKEN (bearer token required from callers; strongly recommended),
 * ROTOR_CODEC_PORT (default 8888), ROTOR_CODEC_HOST (default 127.0.0.1), TEMPORAL_UI_URL (CORS origin).
 *
 * UI: Settings → Codec Server → endpoint `http://127.0.0.1:8888`, "pass access token" for the token.
 * CLI: `temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8888 --codec-auth "Bearer <token>"`.
 */
import { rotorCodec } from '../adapters/temporal/data-converter';
import { createCodecServer, uiOrigins } from './codec-server';
import { temporalSettings } from '../adapters/temporal/connection';

function main(): void {
  const env = process.env;
  const port = Number(env['ROTOR_CODEC_PORT'] ?? 8888);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`ROTOR_CODEC_PORT must be a port number, got '${env['ROTOR_CODEC_PORT']}'`);
  const host = env['ROTOR_CODEC_HOST'] ?? '127.0.0.1';
  const token = env['ROTOR_CODEC_SERVER_TOKEN'] || undefined;
  const allowedOrigins = uiOrigins(temporalSettings(env).uiUrl);
  const server = createCodecServer({ codec: rotorCodec(env), allowedOrigins, token });
  server.on('error', (e) => {
    process.stderr.write(`rotor codec server: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const gate = token
      ? 'bearer token required'
      : 'WARNING: no ROTOR_CODEC_SERVER_TOKEN set, anyone who can reach this port can decrypt payloads';
    process.stderr.write(
      `rotor codec server listening on http://${host}:${bound} (CORS: ${allowedOrigins.join(', ')}; ${gate})\n`,
    );
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => server.close(() => process.exit(0)));
}

try {
  main();
} catch (e) {
  process.stderr.write(`rotor codec server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
