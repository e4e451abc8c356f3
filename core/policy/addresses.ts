/** `::ffff:a9fe:a9fe` or `::ffff:169.254.169.254` → `169.254.169.254`; anything else unchanged. */
function unmapV4(a: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted?.[1]) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (!hex?.[1] || !hex[2]) return a;
  const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

const metadataV4 = new Set(['100.100.100.200', '192.0.0.192']);
const metadataNames = new Set(['metadata.google.internal', 'metadata']);

/**
 * Addresses no canary may reach: link-local (169.254.0.0/16, fe80::/10, where cloud metadata lives)
 * and the other clouds' metadata endpoints. Pure: callers resolve names first and check every address.
 */
export function isForbiddenAddress(address: string): boolean {
  const a = unmapV4(
    address
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, ''),
  );
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(a);
  // 169.254.0.0/16 (AWS, GCP, Azure metadata), Alibaba's and Oracle's metadata addresses.
  if (v4) return (v4[1] === '169' && v4[2] === '254') || metadataV4.has(a);
  if (!a.includes(':')) return metadataNames.has(a);
  // fe80::/10 link-local, and AWS's IPv6 metadata address fd00:ec2::254.
  const first = parseInt(a.split(':')[0] || '0', 16);
  return (first & 0xffc0) === 0xfe80 || a === 'fd00:ec2::254';
}
