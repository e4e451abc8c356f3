/**
 * The history leak scanner of test/integration/no-secret-leak.test.ts (whose self-check proves it
 * finds planted values), shared with the other tests that scan what reached Temporal. It reports
 * which encodings of a value were found, never the value itself.
 */

/**
 * Substrings that any base64 text containing `value` must contain, whatever the value's byte
 * offset inside the encoded data: one per alignment, without the groups mixed with neighbours.
 */
function base64Needles(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  return [0, 1, 2].map((offset) => {
    const enc = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    return enc.slice(offset > 0 ? 4 : 0, Math.floor((offset + bytes.length) / 3) * 4);
  });
}

const forms: Record<string, (v: string) => string[]> = {
  plain: (v) => [v],
  base64: base64Needles,
  base64url: (v) => base64Needles(v).map((n) => n.replace(/\+/g, '-').replace(/\//g, '_')),
  hex: (v) => [Buffer.from(v, 'utf8').toString('hex')],
};

/** Names of the encodings of `value` that occur in `text`. */
export function leaksIn(text: string, value: string): string[] {
  return Object.entries(forms)
    .filter(([, needles]) => needles(value).some((n) => text.includes(n)))
    .map(([form]) => form);
}

/** Per surface, the encodings of each named value found there; empty when nothing leaked. */
export function scan(surfaces: Record<string, string>, values: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [surface, text] of Object.entries(surfaces)) {
    for (const [name, value] of Object.entries(values)) {
      const hits = leaksIn(text, value);
      if (hits.length > 0) found.push(`${name} value in ${surface} (${hits.join(', ')})`);
    }
  }
  return found;
}
