/**
 * JSON with object keys sorted, for comparing values that went through a store or a payload
 * converter which may reorder keys (the apiserver sorts them; a decoded payload keeps its own
 * order). Undefined properties are dropped, as JSON does. Not for signatures: keys sort by locale.
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value ?? null, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
