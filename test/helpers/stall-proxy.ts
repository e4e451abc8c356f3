/**
 * A TCP proxy in front of a TLS service (an apiserver) that a test can stall: while stalled, every
 * byte the service sends back is held, so whatever a client asks through it (a TLS handshake or a
 * request on an open connection) gets no answer until the test lets it flow again. Encrypted
 * traffic cannot be matched the way hold-proxy.ts matches plaintext, so a test stalls it at a known
 * point instead (e.g. while another proxy holds the step before).
 */
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { freePort } from './private-service';

export interface StallProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly address: string;
  /** From now on, answers are held. Resolves once one is (a client waits on the service). */
  stall(): Promise<void>;
  /** Sends what was held on to clients still connected; traffic flows freely again. */
  release(): void;
  close(): Promise<void>;
}

interface Link {
  inbound: Socket;
  outbound: Socket;
  held: Buffer[];
}

/** A stall proxy on a free loopback port forwarding to `target`. */
export async function stallProxy(target: { host: string; port: number }): Promise<StallProxy> {
  const port = await freePort();
  const links = new Set<Link>();
  let stalled: { holding: () => void } | undefined;

  const server = createServer((inbound) => {
    const outbound = connect(target.port, target.host);
    const link: Link = { inbound, outbound, held: [] };
    links.add(link);
    inbound.pipe(outbound);
    outbound.on('data', (chunk: Buffer) => {
      if (!stalled) return void inbound.write(chunk);
      link.held.push(chunk);
      stalled.holding();
    });
    const close = () => {
      links.delete(link);
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of [inbound, outbound]) s.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    address: `127.0.0.1:${port}`,
    stall: () => new Promise<void>((resolve) => (stalled = { holding: resolve })),
    release() {
      stalled = undefined;
      for (const link of links) for (const chunk of link.held.splice(0)) link.inbound.write(chunk);
    },
    close: async () => {
      for (const link of links) {
        link.inbound.destroy();
        link.outbound.destroy();
      }
      await new Promise((r) => server.close(r));
    },
  };
}
