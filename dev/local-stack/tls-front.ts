/**
 * A TLS front for a plaintext Temporal frontend: `temporal server start-dev` has no TLS flags, so the
 * stack (and tests) put this TLS-terminating TCP proxy before it. It speaks h2 over ALPN, as gRPC
 * clients require, and with `clientCa` demands a client certificate signed by that CA (mTLS).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { Server } from 'node:tls';
import { makeCa, signCert, writeOpensslConfig } from './pki';
import type { CertFiles } from './pki';

/** PEM files of a TLS front's PKI: its CA, the front's serving certificate and a client certificate. */
export interface TlsFrontPki {
  ca: CertFiles;
  server: CertFiles;
  client: CertFiles;
}

/** The PKI files under `dir`; `ensureTlsFrontPki` creates what is missing. */
export function tlsFrontPki(dir: string): TlsFrontPki {
  const pair = (name: string) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return { ca: pair('ca'), server: pair('server'), client: pair('client') };
}

/**
 * Makes, once, a CA named `caName`, a serving certificate for 127.0.0.1/localhost and a client
 * certificate for `clientName`, all under `dir`. A new CA re-issues both certificates.
 */
export async function ensureTlsFrontPki(dir: string, caName: string, clientName: string): Promise<TlsFrontPki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = tlsFrontPki(dir);
  const cnf = writeOpensslConfig(join(dir, 'openssl.cnf'), ['IP:127.0.0.1', 'DNS:localhost']);
  const have = (c: CertFiles) => existsSync(c.cert) && existsSync(c.key);
  const newCa = !have(p.ca);
  if (newCa) await makeCa(cnf, p.ca, caName);
  if (newCa || !have(p.server)) await signCert(cnf, p.ca, p.server, '/CN=localhost', 'serving');
  if (newCa || !have(p.client)) await signCert(cnf, p.ca, p.client, `/CN=${clientName}`, 'client');
  return p;
}

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
