/**
 * A TLS front for a plaintext Temporal frontend: `temporal server start-dev` has no TLS flags, so the
 * stack (and tests) put this TLS-terminating TCP proxy before it. It speaks h2 over ALPN, as gRPC
 * clients require, and with `clientCa` demands a client certificate signed by that CA (mTLS).
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import type { Server } from 'node:tls';
import type { CertFiles } from './pki';

export interface TlsFrontOptions {
  /** Loopback port to listen on; 0 picks a free one. */
  port: number;
  /** The plaintext frontend, `host:port`. */
  target: string;
  server: CertFiles;
  /** CA file whose client certificates are required (mTLS); without it any client may connect. */
  clientCa?: string;
}

/** Starts the TLS front on 127.0.0.1; resolves with the listening server and its port. */
export async function startTlsFront(o: TlsFrontOptions): Promise<{ server: Server; port: number }> {
  const [host = '127.0.0.1', port = '7233'] = o.target.split(/:(?=\d+$)/);
  const server = createServer(
    {
      cert: readFileSync(o.server.cert),
      key: readFileSync(o.server.key),
      ALPNProtocols: ['h2'],
      ...(o.clientCa ? { ca: readFileSync(o.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (socket) => {
      const upstream = connect(Number(port), host);
      // Either side closing or failing ends both: gRPC reconnects on its own.
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      socket.pipe(upstream).pipe(socket);
    },
  );
  // A failed handshake (wrong CA, no client certificate) is the client's problem, not the front's.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
