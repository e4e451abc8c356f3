import { connect } from 'node:tls';
import type { TemporalEndpoint } from './envconfig';

/** The error's message and those of its causes: the SDK wraps the server's answer in `cause`. */
function reasons(e: unknown): string {
  const out: string[] = [];
  for (let x: unknown = e; x instanceof Error && out.length < 4; x = x.cause) out.push(x.message.replace(/\.$/, ''));
  return out.join(': ');
}

/**
 * Why a TLS handshake with the endpoint fails, asked of node:tls directly: gRPC clients only say
 * "failed to connect before the deadline". Undefined when the handshake succeeds (or TLS is off).
 */
export function tlsHandshakeProblem(ep: TemporalEndpoint, timeoutMs = 3000): Promise<string | undefined> {
  if (!ep.tls) return Promise.resolve(undefined);
  const tls = ep.tls;
  const [host = ep.address, port = '7233'] = ep.address.split(/:(?=\d+$)/);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(port),
      ALPNProtocols: ['h2'],
      servername: tls.serverNameOverride ?? (/^[\d.]+$|:/.test(host) ? undefined : host),
      ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
      ...(tls.clientCertPair
        ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) }
        : {}),
    });
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // OpenSSL's alerts come with its source location; keep the words.
    socket.once('error', (e: Error) =>
      done(`TLS handshake: ${/(tlsv1\d? alert [a-z ]+)/i.exec(e.message)?.[1] ?? e.message}`),
    );
    // TLS 1.3 servers refuse a client certificate after the handshake: give them a moment to say so.
    socket.once('secureConnect', () => {
      socket.resume();
      // Node's TLS servers hang up without an alert on a client certificate from an unknown CA.
      socket.once('close', () =>
        done('TLS handshake: the server closed the connection at once; it does not accept the client certificate'),
      );
      setTimeout(() => done(undefined), 500);
    });
  });
}

/** A connection failure that says where rotor tried to connect, why, and what to check. */
export async function connectFailure(who: string, ep: TemporalEndpoint, e: unknown): Promise<Error> {
  const handshake = await tlsHandshakeProblem(ep);
  const hint = ep.tls
    ? "check that the server's certificate is signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH and names the " +
      'host (TEMPORAL_TLS_SERVER_NAME), and that the server accepts the client certificate or API key'
    : "is the stack up? Run 'npm run stack:up'; a TLS endpoint needs TEMPORAL_TLS=true or a TLS profile";
  const why = [reasons(e), ...(handshake ? [handshake] : [])].join('; ');
  return new Error(`${who} cannot reach Temporal at ${ep.describe} (TEMPORAL_ADDRESS): ${why}. ${hint}`);
}
