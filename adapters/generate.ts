import { randomInt } from 'node:crypto';
import type { Credential } from '../core/playbook/schema';
import { holdSecret } from './secret-scope';

type RandomCredential = Extract<Credential, { kind: 'random' }>;

const charsets: Record<RandomCredential['charset'], string> = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  'ascii-printable': Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join(''),
};

/** A random credential of the policy's length and charset, from a CSPRNG without modulo bias. */
export function generateRandom(policy: Pick<RandomCredential, 'length' | 'charset'>): string {
  const chars = charsets[policy.charset];
  let out = '';
  for (let i = 0; i < policy.length; i++) out += chars[randomInt(chars.length)];
  return holdSecret(out);
}
