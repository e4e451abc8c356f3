/**
 * An endpoint for `http` canaries that a test holds at will, for canaries that run where a file
 * gate cannot reach (a policy's command sandbox has a /tmp of its own). It starts open, answering
 * 200 at once; closed, it lets a given number of requests through and holds the rest, so a rotation waits
 * in its canary stage by construction rather than within a sleep a loaded machine may outrun.
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';

export interface HttpGate {
  /** `http://127.0.0.1:<port>/gate`. */
  readonly url: string;
  /** From now on `passes` requests get 200 and the ones after are held. */
  close(passes?: number): void;
  /** Answers what is held with 503 and stops listening. */
  dispose(): Promise<void>;
}

export async function httpGate(): Promise<HttpGate> {
  let isOpen = true;
  let passes = 0;
  const held = new Set<ServerResponse>();
  const ok = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  const server = createServer((req, res) => {
    req.resume();
    if (isOpen) return ok(res);
    if (passes > 0) {
      passes--;
      return ok(res);
    }
    held.add(res);
    res.on('close', () => held.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the gate has no port');
  return {
    url: `http://127.0.0.1:${address.port}/gate`,
    close(n = 0) {
      isOpen = false;
      passes = n;
    },
    async dispose() {
      for (const res of held) res.writeHead(503).end();
      held.clear();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
