/**
 * rotor codec server entry point: lets the Temporal UI and `temporal` CLI show rotor's encrypted
 * payloads to operators who may see them. `dev/stack up` runs it as the stack service `codec`;
 * docs/production.md#codec-server says how to run it beside a production UI; its environment is
 * read by `codecServerSettings` (codec-server-settings.ts).
 */
import { rotorCodec } from '../adapters/temporal/data-converter';
import { createCodecServer } from './codec-server';
import { codecServerSettings } from './codec-server-settings';

function main(): void {
  const s = codecServerSettings(process.env);
  const server = createCodecServer({ codec: rotorCodec(process.env), ...s });
  server.on('error', (e) => {
    process.stderr.write(`rotor codec server: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(s.port, s.host, () => {
    const scheme = s.tls ? 'https' : 'http';
    process.stderr.write(
      `rotor codec server listening on ${scheme}://${s.host}:${s.port} (origins: ${s.allowedOrigins.join(', ')}; hosts: ${s.allowedHosts.join(', ')}; token required)\n`,
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
