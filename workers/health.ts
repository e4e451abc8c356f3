/**
 * The worker's health endpoint for kubelet probes (off unless ROTOR_HEALTH_PORT is set):
 * `/livez` answers 200 while the worker has not failed or stopped, `/readyz` 200 only while it
 * polls its task queue (state RUNNING), so a pod is ready once it takes work and stops being ready
 * as soon as a SIGTERM starts its drain. It carries no data beyond the state name, so unlike the
 * metrics it may listen on every interface (ROTOR_HEALTH_HOST, default 127.0.0.1).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { State } from '@temporalio/worker';
import { z } from 'zod';
import { parseEnvVars } from './env-vars';

const schema = z.object({
  ROTOR_HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  ROTOR_HEALTH_HOST: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
});

/** Where the health endpoint listens, or undefined when it is off; a bad value names the variable. */
export function healthSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): { port: number; host: string } | undefined {
  const parsed = parseEnvVars(
    schema,
    env,
    ['ROTOR_HEALTH_PORT', 'ROTOR_HEALTH_HOST'],
    'a port 1-65535, 0 for off; an IP address',
  );
  const { ROTOR_HEALTH_PORT: port, ROTOR_HEALTH_HOST: host } = parsed;
  return port ? { port, host } : undefined;
}

/** Alive: the worker has not failed or stopped (a drain in progress is alive, not ready). */
export const isLive = (s: State) => s !== 'FAILED' && s !== 'STOPPED';
/** Ready: polling its task queue. */
export const isReady = (s: State) => s === 'RUNNING';

/** Serves `/livez` and `/readyz` from `state()`; resolves once listening. */
export function serveHealth(settings: { port: number; host: string }, state: () => State): Promise<Server> {
  const server = createServer((req, res) => {
    const s = state();
    const ok = req.url === '/livez' ? isLive(s) : req.url === '/readyz' ? isReady(s) : undefined;
    if (ok === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${s}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) =>
      reject(new Error(`health: cannot listen on ${settings.host}:${settings.port} (ROTOR_HEALTH_PORT): ${e.message}`)),
    );
    server.listen(settings.port, settings.host, () => resolve(server));
  });
}
