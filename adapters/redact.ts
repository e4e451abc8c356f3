/** Runs of base64/base64url alphabet long enough to hide an encoded secret. */
const ENCODED_TOKEN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;

/**
 * Removes every echo of a secret from text that is about to be reported (canary output, upstream
 * error messages): the plain value, its URL and hex encodings, and any base64/base64url token that
 * decodes to bytes containing it — also at an offset, as in an echoed `Basic base64(user:secret)`.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const live = secrets.filter((s) => s.length >= 4);
  let out = text;
  for (const s of live) {
    for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString('hex')])
      out = out.split(form).join('[redacted]');
  }
  const needles = live.map((s) => Buffer.from(s));
  return out.replace(ENCODED_TOKEN, (token) => {
    const bytes = Buffer.from(token.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return needles.some((n) => bytes.includes(n)) ? '[redacted]' : token;
  });
}
