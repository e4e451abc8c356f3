import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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
  /** When set, every request needs `Authorization: Bearer <token>`; that is who may read decoded payloads. */
  token?: string | undefined;
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
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

/**
 * Temporal's remote codec endpoints over node:http: `POST /encode` and `POST /decode` (also under
 * a namespace prefix, `/{namespace}/decode`, as the CLI's `--codec-endpoint` templating sends
 * them), taking and returning `{ payloads: [...] }`. CORS admits the Temporal UI, preflight
 * included; a configured token gates every non-preflight request. Payload contents are never logged.
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
    cors(req, res);
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const route = /^(?:\/[^/]+)?\/(encode|decode)\/?$/.exec(path)?.[1] as 'encode' | 'decode' | undefined;
    if (!route) throw new HttpError(404, `no such endpoint ${path}; use POST /encode or POST /decode`);
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
    if (o.token !== undefined && !tokenMatches(req.headers.authorization, o.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="rotor-codec"');
      throw new HttpError(401, 'a valid Authorization: Bearer token is required');
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

  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (!res.headersSent) send(res, status, { error: e instanceof HttpError ? e.message : 'internal error' });
      else res.end();
    });
  });
}
