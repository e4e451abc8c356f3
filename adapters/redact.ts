/** Runs of base64/base64url alphabet: an encoded secret inside one is replaced with the whole run. */
const ENCODED_TOKEN = /[A-Za-z0-9+/_-]+={0,2}/g;
const MASK = '[redacted]';
/** Values shorter than this are not secrets worth the false positives (e.g. a JSON `true`). */
const MIN_LENGTH = 4;

/**
 * The values to hide for one secret: the secret itself and, when it is a JSON credential, every
 * string field inside it (a hook may print the password or secretAccessKey alone).
 */
export function secretValues(secret: string): string[] {
  const out = [secret];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  try {
    walk(JSON.parse(secret));
  } catch {
    // Not JSON: the value alone.
  }
  return [...new Set(out)].filter((s) => s.length >= MIN_LENGTH);
}

/** The base64 characters that encode only `bytes` when they start at byte `offset` of a longer stream. */
function base64Core(bytes: Buffer, offset: number, alphabet: 'base64' | 'base64url'): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(alphabet);
  // Character i holds bits [6i, 6i+6): keep those wholly inside the secret's bits.
  return encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1);

/** Exact-text forms of one value: raw, JSON-escaped (once and twice), URL- and form-encoded. */
function textForms(v: string): string[] {
  return [
    v,
    jsonEscaped(v),
    jsonEscaped(jsonEscaped(v)),
    encodeURIComponent(v),
    encodeURIComponent(v).replace(/%20/g, '+'),
  ];
}

/** Compiled matchers for a set of secrets; build once per text or reuse for many. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const values = [...new Set(secrets.flatMap(secretValues))];
  // Longest first, so a JSON credential goes before the fields inside it.
  const forms = [...new Set(values.flatMap(textForms))].sort((a, b) => b.length - a.length);
  // Hex and percent-escapes come in either case.
  const caseless = [
    ...values.map((v) => Buffer.from(v).toString('hex')),
    ...values.map(encodeURIComponent).filter((u) => u.includes('%')),
  ];
  const cores = values.flatMap((v) =>
    [0, 1, 2].flatMap((offset) => [
      base64Core(Buffer.from(v), offset, 'base64'),
      base64Core(Buffer.from(v), offset, 'base64url'),
    ]),
  );
  const exact = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  const anyCase = new RegExp(caseless.map(escapeRegExp).join('|'), 'gi');
  return (text) => {
    const out = values.length === 0 ? text : text.replace(exact, MASK).replace(anyCase, MASK);
    return out.replace(ENCODED_TOKEN, (token) =>
      cores.some((c) => c.length >= MIN_LENGTH && token.includes(c)) ? MASK : token,
    );
  };
}

/**
 * Removes every echo of a secret from text about to be reported (canary output, upstream error
 * messages): the plain value and each string field of a JSON credential, JSON-escaped, URL-encoded,
 * hex in either case, and base64/base64url at any alignment inside a longer run (as in an echoed
 * `Basic base64(user:secret)`).
 */
export function redact(text: string, secrets: readonly string[]): string {
  return redactor(secrets)(text);
}

/** The longest form a secret could take in text; a cut can leave at most this much of one. */
function longestForm(secrets: readonly string[]): number {
  return Math.max(
    0,
    ...secrets
      .flatMap(secretValues)
      .flatMap((v) => [...textForms(v), Buffer.from(v).toString('hex')])
      .map((f) => f.length),
  );
}

/**
 * Redacts, then keeps the last `max` characters: redacting first means a cut can never split a
 * secret so that its remains escape. `cut` says the source already cut the text (a bounded buffer
 * keeping the tail, or a log read with a byte limit keeping the head); the part next to that cut,
 * which may hold the rest of a split secret, is dropped before redacting.
 */
export function redactTail(text: string, secrets: readonly string[], max: number, cut?: 'start' | 'end'): string {
  let t = text;
  const edge = longestForm(secrets);
  if (cut === 'start') t = `…${t.slice(edge)}`;
  if (cut === 'end') t = `${t.slice(0, Math.max(0, t.length - edge))}…`;
  const out = redact(t, secrets);
  return out.length > max ? `…${out.slice(-max)}` : out;
}
