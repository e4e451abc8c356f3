/**
 * A TCP proxy in front of a plaintext HTTP service (the stack's Vault or moto) that holds back the
 * response to one chosen request: the service has done the work, the client has not heard. A test
 * arms it with a pattern of the request (request line, header or body), waits until the response
 * is held, and so acts (kills a worker, say) at a known point inside a step instead of hoping a
 * timing window is hit.
 */
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { freePort } from './private-service';

export interface HoldProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /**
   * From now on, the first request whose bytes (on one connection, since this call) match
   * `request` gets its response held; resolves once the service has answered it and the answer
   * is held. Matching is on the text as sent, e.g. `/^POST \/v1\/secret\/data\//m`.
   */
  holdResponseTo(request: RegExp): Promise<void>;
  /**
   * Sends what was held on to its client (if it is still connected), and the service's close if it
   * closed meanwhile; traffic flows freely again.
   */
  release(): void;
  close(): Promise<void>;
}

interface Link {
  inbound: Socket;
  seen: string;
  held: Buffer[] | undefined;
  /** The service closed its side while the response was held: the client hears that after it too. */
  closedWhileHeld: boolean;
}

/** A hold proxy on a free loopback port forwarding to `target` (`http://host:port`). */
export async function holdProxy(target: string): Promise<HoldProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const port = await freePort();
  const links = new Set<Link>();
  let armed: { request: RegExp; held: () => void } | undefined;

  const server = createServer((inbound) => {
    const outbound = connect(Number(targetPort), hostname);
    const link: Link = { inbound, seen: '', held: undefined, closedWhileHeld: false };
    links.add(link);
    inbound.on('data', (chunk: Buffer) => {
      if (armed) {
        // The tail only: enough for a request line, headers and a small JSON body.
        link.seen = (link.seen + chunk.toString('latin1')).slice(-65_536);
        if (armed.request.test(link.seen)) {
          link.held = [];
          const { held } = armed;
          armed = undefined;
          // Held before the request goes on, so every byte of its response is held.
          outbound.write(chunk);
          outbound.once('data', held);
          return;
        }
      }
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (link.held) link.held.push(chunk);
      else inbound.write(chunk);
    });
    inbound.on('error', () => outbound.destroy());
    inbound.on('close', () => {
      outbound.destroy();
      links.delete(link);
    });
    // moto closes every connection after its answer: passed on at once, the client would see its
    // request cut off before any answer and send it again, around the hold.
    outbound.on('error', () => inbound.destroy());
    outbound.on('close', () => {
      if (link.held) link.closedWhileHeld = true;
      else inbound.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${port}`,
    holdResponseTo(request) {
      for (const l of links) l.seen = '';
      return new Promise<void>((resolve) => {
        armed = { request, held: () => resolve() };
      });
    },
    release() {
      armed = undefined;
      for (const l of links) {
        const held = l.held;
        l.held = undefined;
        if (held && !l.inbound.destroyed) for (const c of held) l.inbound.write(c);
        if (l.closedWhileHeld) l.inbound.end();
      }
    },
    async close() {
      for (const l of links) l.inbound.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
