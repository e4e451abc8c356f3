import { ErrorTypes, permanent } from '../core/failures';

/**
 * A Vault API path built segment by segment: every part (mount, fixed words, path, role) is split
 * on '/', each segment percent-encoded on its own, so no name can add a segment, climb with '..'
 * or end the path with '?' or '#'. An empty, '.' or '..' segment is refused, naming the path. The
 * playbook schema already refuses such names; this holds for any caller.
 */
export function vaultApiPath(...parts: string[]): string {
  const segments = parts.flatMap((p) => p.split('/'));
  const bad = segments.find((s) => s === '' || s === '.' || s === '..');
  if (bad !== undefined)
    throw permanent(
      ErrorTypes.invalidInput,
      `vault path '${parts.join('/')}' has an empty, '.' or '..' segment; nothing was sent to Vault`,
    );
  return segments.map((s) => encodeURIComponent(s)).join('/');
}
