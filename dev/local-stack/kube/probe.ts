import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { healthProbeTimeoutMs } from '../process';

/** Outcome of one probe: the HTTP status and body, or the transport error. */
export type ProbeResult = { status: number; body: string } | { error: string };

/**
 * GETs `url` with a bounded timeout. For https it trusts only `ca` and sends `token` as a bearer
 * token; the stack's health checks must not hang on a half-started server.
 */
export function probe(
  url: string,
  opts: { ca?: Buffer; token?: string; timeoutMs?: number } = {},
): Promise<ProbeResult> {
  const get = url.startsWith('https:') ? httpsGet : httpGet;
  return new Promise((resolve) => {
    const req = get(
      url,
      {
        ...(opts.ca ? { ca: opts.ca } : {}),
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
        timeout: opts.timeoutMs ?? healthProbeTimeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? healthProbeTimeoutMs}ms`)));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

/** Undefined when `r` is a 200, else a one-line reason. */
export function notOk(r: ProbeResult): string | undefined {
  if ('error' in r) return r.error;
  if (r.status === 200) return undefined;
  return `HTTP ${r.status}: ${
    r.body
      .trim()
      .split('\n')
      .filter((l) => l.includes('failed'))
      .join('; ')
      .slice(0, 300) || r.body.slice(0, 200)
  }`;
}
