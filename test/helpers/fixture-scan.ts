/**
 * Keeps secret values out of the replay fixtures (test/histories): the recorder scans each history
 * for the values of the rotation it stands for before writing it (`recordHistory`'s `secrets`), and
 * the replay test scans every fixture for what any secret would look like (a PEM private key, a
 * private JWK member). Findings name the fixture, the surface and the encoding, never the value.
 */
import type { HistoryJson } from './history';
import { dataText, findPayloads } from './history';
import { scan } from './leak-scan';

/** The fixture as text: the events (payloads base64 as stored) and every payload's data decoded. */
export function fixtureText(h: HistoryJson): string {
  return [JSON.stringify(h), ...findPayloads(h).map((p) => dataText(p.payload))].join('\n');
}

/**
 * Members of a JSON credential that are secret: passwords, PEM private keys, a JWK's private
 * parameters. Certificates, kids, serials and user names are public and may be in a history.
 */
const secretMembers = new Set([
  'password',
  'privateKey',
  'private_key',
  'secret',
  'token',
  'd',
  'p',
  'q',
  'dp',
  'dq',
  'qi',
  'k',
]);

/** The whole value and, when it is a JSON object, each of its secret members (found alone in a history too). */
export function secretPartsOf(value: string): string[] {
  const parts = [value];
  try {
    const json: unknown = JSON.parse(value);
    if (typeof json === 'object' && json !== null)
      for (const [k, v] of Object.entries(json))
        if (secretMembers.has(k) && typeof v === 'string' && v.length >= 8) parts.push(v);
  } catch {
    // Not JSON: the value alone.
  }
  return parts;
}

/** Where the given secret values (and their secret members) occur in the history, in any encoding. */
export function secretValuesIn(h: HistoryJson, values: readonly string[]): string[] {
  const named: Record<string, string> = {};
  values.forEach((v, i) => secretPartsOf(v).forEach((part, j) => (named[`secret ${i + 1} part ${j + 1}`] = part)));
  return scan({ history: fixtureText(h) }, named);
}

/** What a secret looks like whatever its value: a PEM private key, a private JWK member. */
const secretShapes: Record<string, RegExp> = {
  'a PEM private key': /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  'a private JWK member "d"': /\\?"d\\?"\s*:\s*\\?"[A-Za-z0-9_-]{16,}/,
};

/** Names of the secret shapes found in the history. */
export function secretShapesIn(h: HistoryJson): string[] {
  const text = fixtureText(h);
  return Object.entries(secretShapes)
    .filter(([, re]) => re.test(text))
    .map(([name]) => name);
}
