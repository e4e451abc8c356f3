import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from './sha256';

/**
 * The built CLI's bundle (dev/build-cli.ts): `bundle-<esbuild's content hash>.cjs` in dist/cli.
 * zod, yaml and every line of the CLI's own code that validates a playbook are inside it.
 */
const bundleName = /^bundle-[A-Z0-9]+\.cjs$/;

/**
 * The SHA-256 of the code validating playbooks in this process: the bytes of the built CLI's
 * bundle this module runs from, with Node's version. Undefined when the CLI runs from its
 * TypeScript sources (through tsx), which have no one file to hash: that CLI validates every time.
 * `self` is this module's own file (the bundle, once built); a parameter for tests.
 */
export function cliBuildHash(self: string = fileURLToPath(import.meta.url)): string | undefined {
  if (!bundleName.test(basename(self))) return undefined;
  try {
    return sha256(readFileSync(self), `\0${process.version}`);
  } catch {
    return undefined;
  }
}
