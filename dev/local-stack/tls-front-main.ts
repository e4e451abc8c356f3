/**
 * The TLS front as a process (the stack's `temporal-tls` service):
 * `node --import tsx dev/local-stack/tls-front-main.ts --port 7243 --target 127.0.0.1:7233 --cert … --key … [--client-ca …]`.
 */
import { parseArgs } from 'node:util';
import { startTlsFront } from './tls-front';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    target: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'client-ca': { type: 'string' },
  },
});
const { port, target, cert, key } = values;
if (!port || !target || !cert || !key) {
  process.stderr.write('tls-front: --port, --target, --cert and --key are required\n');
  process.exit(2);
}
const clientCa = values['client-ca'];
startTlsFront({ port: Number(port), target, server: { cert, key }, ...(clientCa ? { clientCa } : {}) }).then(
  (f) =>
    process.stdout.write(
      `tls-front: 127.0.0.1:${f.port} -> ${target} (${clientCa ? 'mTLS: client certificates from ' + clientCa : 'TLS'})\n`,
    ),
  (e: Error) => {
    process.stderr.write(`tls-front: ${e.message}\n`);
    process.exit(1);
  },
);
