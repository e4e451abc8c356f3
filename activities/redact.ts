/**
 * Removes every echo of a secret — plain, base64 or URL-encoded — from text that is about to be
 * reported (canary output, upstream error messages), so failures can be explained without leaking.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue;
    for (const form of [s, Buffer.from(s).toString('base64'), encodeURIComponent(s)]) {
      out = out.split(form).join('[redacted]');
    }
  }
  return out;
}
