/**
 * SHA-256 in hex of `parts`, in order. node:crypto is loaded on the first call, not at import:
 * loading it costs about a fifth of a bare Node start, which a CLI run that hashes nothing (no
 * cache of playbook outcomes, cli/playbook-cache.ts) does not pay.
 */
export function sha256(...parts: (string | Buffer)[]): string {
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}
