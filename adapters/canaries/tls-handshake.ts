import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { Canary } from '../../core/playbook/schema';
import { factsOf, parseCertificateBundle, tlsSecretData } from '../credentials/vault-pki-value';
import type { CanaryOutcome } from './outcome';

type TlsHandshakeCanary = Extract<Canary, { type: 'tls-handshake' }>;

/**
 * A real TLS handshake against the new certificate: a server on the worker's loopback serves the
 * credential's `tls.crt`/`tls.key` (as the cluster Secret will), and a client that trusts only
 * its `ca.crt` connects asking for `serverName`, checking the chain and the name as a consumer's
 * client would. The server lives for this check only; nothing is reachable from elsewhere.
 */
export async function runTlsHandshake(
  c: TlsHandshakeCanary,
  credential: string,
  signal: AbortSignal,
): Promise<CanaryOutcome> {
  let data: ReturnType<typeof tlsSecretData>;
  let facts: ReturnType<typeof factsOf>;
  try {
    const bundle = parseCertificateBundle(credential, 'the credential');
    data = tlsSecretData(bundle);
    facts = factsOf(bundle.cert);
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
  const which = `certificate serial ${facts.serialNumber} (notAfter ${facts.notAfter})`;
  let server;
  try {
    server = createServer({ cert: data['tls.crt'], key: data['tls.key'] }, (socket) => socket.end());
  } catch (e) {
    return { ok: false, detail: `${which}: the server cannot use the key and certificate: ${(e as Error).message}` };
  }
  // Handshake failures on the server side are the client's to report.
  server.on('tlsClientError', () => undefined);
  try {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening', { signal });
    const { port } = server.address() as AddressInfo;
    const socket = connect({ host: '127.0.0.1', port, servername: c.serverName, ca: data['ca.crt'] });
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]);
    try {
      await once(socket, 'secureConnect', { signal: timeout });
      const peer = socket.getPeerCertificate();
      return {
        ok: true,
        detail: `TLS handshake as ${c.serverName}: ${which} verified under ca.crt (protocol ${socket.getProtocol() ?? '?'}, peer sha256 ${peer.fingerprint256.replace(/:/g, '').slice(0, 16).toLowerCase()}…)`,
      };
    } catch (e) {
      const why = timeout.aborted && !signal.aborted ? `no handshake within ${c.timeout} ms` : (e as Error).message;
      return { ok: false, detail: `TLS handshake as ${c.serverName} with ${which} failed: ${why}` };
    } finally {
      socket.destroy();
    }
  } finally {
    server.close();
  }
}
