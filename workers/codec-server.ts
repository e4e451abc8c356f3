import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** One payload as the Temporal UI and CLI send it: proto3 JSON, every bytes field base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call (the Temporal UI's), e.g. `http://127.0.0.1:8233`. */
  allowedOrigins: string[];
  /**
   * When set, every request needs the token: as `Authorization: Bearer <token>` (the CLI, or the UI
   * passing an access token), or as the endpoint's path prefix `/t/<token>` (the Temporal UI cannot
   * send a header of its own: its endpoint is `http://host:port/t/<token>`). That is who may read
   * decoded payloads.
   */
  token?: string | undefined;
  /**
   * `Host` header values served (`host:port`); anything else is refused, so a DNS-rebinding page
   * cannot reach a loopback codec server under a name of its own. Undefined serves any Host.
   */
  allowedHosts?: readonly string[];
  /** PEM certificate and key: serve HTTPS (required off loopback; see codec-server-main.ts). */
  tls?: { cert: string; key: string };
  /** Largest accepted request body. */
  maxBodyBytes?: number;
}

const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';
const DEFAULT_MAX_BODY = 16 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The UI origin plus its loopback twin: the browser's origin is whichever of `localhost` and
 * `127.0.0.1` the operator typed.
 */
export function uiOrigins(uiUrl: string): string[] {
  const origin = new URL(uiUrl).origin;
  const twin = origin.includes('://127.0.0.1')
    ? origin.replace('://127.0.0.1', '://localhost')
    : origin.replace('://localhost', '://127.0.0.1');
  return [...new Set([origin, twin])];
}

function toPayload(p: JsonPayload): Payload {
  if (typeof p !== 'object' || p === null) throw new HttpError(400, 'each payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new HttpError(400, `payload metadata '${k}' must be a base64 string`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function fromPayload(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// Hash both sides first: timingSafeEqual needs equal lengths, and the length must not leak either.
function tokenMatches(header: string | undefined, pathToken: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? pathToken;
  if (!given) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * The route is the path's last segment (Temporal's codec protocol lets endpoints sit at any depth,
 * e.g. `/{namespace}/decode` as the CLI templates it); a leading `/t/<token>` carries the token.
 */
function parseEndpoint(path: string): { route: 'encode' | 'decode'; pathToken: string | undefined } {
  const parts = path.split('/').filter(Boolean);
  const last = parts.at(-1);
  if (last !== 'encode' && last !== 'decode') {
    throw new HttpError(404, 'no such endpoint; use POST <endpoint>/encode or POST <endpoint>/decode');
  }
  return {
    route: last,
    pathToken: parts[0] === 't' && parts.length >= 3 ? decodeURIComponent(parts[1] ?? '') : undefined,
  };
}

/**
 * Temporal's remote codec endpoints over node:http(s): `POST …/encode` and `POST …/decode`, taking
 * and returning `{ payloads: [...] }`. Checks run in this order: the Host (when `allowedHosts` is
 * set), the Origin (a browser of another origin gets 403, preflight included), the route, then the
 * token on every non-preflight request. Payload contents and tokens are never logged.
 */
export function createCodecServer(o: CodecServerOptions): Server {
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY;

  function cors(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (!origin || !o.allowedOrigins.includes(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    // The UI's "include cross-origin credentials" option sends cookies; allowed for the listed origins only.
    res.setHeader('Access-Control-Allow-Credentials', 'true');
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-store');
    res.end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    if (o.allowedHosts && !o.allowedHosts.includes(host.toLowerCase())) {
      throw new HttpError(421, `Host '${host}' is not served here; use ${o.allowedHosts.join(' or ')}`);
    }
    const origin = req.headers.origin;
    // A browser page of another origin is refused outright, not just denied CORS headers.
    if (origin !== undefined && !o.allowedOrigins.includes(origin)) {
      throw new HttpError(403, `origin ${origin} is not allowed; the Temporal UI's origin is (TEMPORAL_UI_URL)`);
    }
    cors(req, res);
    const { route, pathToken } = parseEndpoint(new URL(req.url ?? '/', 'http://codec').pathname);
    if (req.method === 'OPTIONS') {
      // Preflight carries no Authorization header by design, so it is answered without the token check.
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      throw new HttpError(405, `${req.method ?? '?'} not allowed; use POST`);
    }
    if (o.token !== undefined && !tokenMatches(req.headers.authorization, pathToken, o.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="rotor-codec"');
      throw new HttpError(401, 'a valid token is required: Authorization: Bearer <token>, or the endpoint /t/<token>');
    }
    let body: { payloads?: unknown };
    try {
      body = JSON.parse(await readBody(req, maxBody)) as { payloads?: unknown };
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'body must be JSON: {"payloads": [...]}');
    }
    if (!Array.isArray(body?.payloads)) throw new HttpError(400, 'body must be JSON: {"payloads": [...]}');
    const payloads = (body.payloads as JsonPayload[]).map(toPayload);
    let out: Payload[];
    try {
      out = route === 'encode' ? await o.codec.encode(payloads) : await o.codec.decode(payloads);
    } catch (e) {
      // Typically a payload encrypted under another key; the reason is the codec's, never the data.
      throw new HttpError(400, `cannot ${route} payloads: ${(e as Error).message}`);
    }
    send(res, 200, { payloads: out.map(fromPayload) });
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (!res.headersSent) send(res, status, { error: e instanceof HttpError ? e.message : 'internal error' });
      else res.end();
    });
  };
  return o.tls ? createTlsServer({ cert: o.tls.cert, key: o.tls.key }, listener) : createServer(listener);
}
