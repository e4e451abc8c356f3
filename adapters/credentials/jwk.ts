/**
 * JWT signing keys as rotor stores and publishes them: the stored value is a private JWK (Ed25519
 * `OKP` or P-256 `EC`) with `kid`, `alg` and `use: sig`; what is published is its public part in a
 * JWKS (`{"keys":[…]}`). Only `kid`s, which are public, ever appear in messages.
 */
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import { z } from 'zod';
import { ErrorTypes, permanent } from '../../core/failures';

/** The algorithms a `jwt-signing-key` may generate. */
export type JwtAlgorithm = 'EdDSA' | 'ES256';

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/** A public signing JWK as rotor publishes it. */
const publicJwk = z.discriminatedUnion('kty', [
  z.object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: b64url,
    kid: z.string().min(1),
    alg: z.literal('EdDSA'),
    use: z.literal('sig').optional(),
  }),
  z.object({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: b64url,
    y: b64url,
    kid: z.string().min(1),
    alg: z.literal('ES256'),
    use: z.literal('sig').optional(),
  }),
]);

/** A public signing JWK as rotor publishes it. */
export type PublicJwk = z.output<typeof publicJwk>;
/** A private signing JWK as rotor stores it: the public part plus `d`. */
export type PrivateJwk = PublicJwk & { d: string };

/** One key of a JWKS: rotor reads only `kid`, and keeps every other member of keys it did not write. */
const anyJwk = z.looseObject({ kid: z.string().optional() });
const jwksSchema = z.strictObject({ keys: z.array(anyJwk) });

/** A JWKS; keys rotor did not publish are kept as they are. */
export type Jwks = z.output<typeof jwksSchema>;

/**
 * A stored private JWK, checked; `what` names it in errors (e.g. "the current value"). Nothing of
 * the value is quoted: only which member is wrong.
 */
export function parsePrivateJwk(text: string, what: string): PrivateJwk {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw permanent(
      ErrorTypes.invalidInput,
      `${what} is not a JSON private JWK (value not shown); a jwt-signing-key stores an Ed25519 or P-256 private JWK with kid and alg`,
    );
  }
  const pub = publicJwk.safeParse(parsed);
  const d = (parsed as { d?: unknown } | null)?.d;
  if (!pub.success || typeof d !== 'string' || !/^[A-Za-z0-9_-]+$/.test(d)) {
    const where = pub.success
      ? 'd: must be a base64url string'
      : pub.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw permanent(
      ErrorTypes.invalidInput,
      `${what} is not an Ed25519 (OKP, EdDSA) or P-256 (EC, ES256) private JWK with kid (value not shown): ${where}`,
    );
  }
  return { ...pub.data, d };
}

/** The public part of a private JWK, as published. */
export function publicOf(jwk: PrivateJwk): PublicJwk {
  return jwk.kty === 'OKP'
    ? { kty: 'OKP', crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg: jwk.alg, use: 'sig' }
    : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg: jwk.alg, use: 'sig' };
}

/**
 * A new key pair of `algorithm` as a private JWK; its `kid` is the RFC 7638 thumbprint of the
 * public key, so it says nothing about the private key and is the same wherever it is computed.
 */
export async function generateSigningJwk(algorithm: JwtAlgorithm): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const exported = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(exported, 'sha256');
  return parsePrivateJwk(JSON.stringify({ ...exported, kid, alg: algorithm, use: 'sig' }), 'the generated key');
}

/** Parses JWKS JSON; `where` names it in errors (e.g. `configmap ns/name key jwks.json in cluster a`). */
export function parseJwks(text: string, where: string): Jwks {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw permanent(ErrorTypes.invalidInput, `${where} is not JSON; it must hold a JWKS ({"keys":[…]})`);
  }
  const r = jwksSchema.safeParse(parsed);
  if (!r.success)
    throw permanent(
      ErrorTypes.invalidInput,
      `${where} is not a JWKS ({"keys":[…]}): ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  // The keys as written, members in their order: a JWKS rotor rewrites changes only the keys it adds or removes.
  return parsed as Jwks;
}

/** The `kid`s of a JWKS, in order. */
export const kidsOf = (jwks: Jwks): string[] => jwks.keys.flatMap((k) => (k.kid ? [k.kid] : []));

/** `jwks` with each of `add` appended unless its kid is there already. */
export function withKeys(jwks: Jwks, add: readonly PublicJwk[]): Jwks {
  const have = new Set(kidsOf(jwks));
  return { keys: [...jwks.keys, ...add.filter((k) => !have.has(k.kid))] };
}

/** `jwks` without the keys whose kid is `kid`. */
export function withoutKid(jwks: Jwks, kid: string): Jwks {
  return { keys: jwks.keys.filter((k) => k.kid !== kid) };
}

/** A token of `lifetimeMs` signed with `jwk` (header `alg` and `kid`), for proofs and canaries. */
export async function signTestToken(jwk: PrivateJwk, lifetimeMs = 60_000): Promise<string> {
  const key = await importJWK(jwk, jwk.alg);
  return new SignJWT({ purpose: 'rotor proof' })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuedAt()
    .setSubject('rotor')
    .setExpirationTime(new Date(Date.now() + lifetimeMs))
    .sign(key);
}

/** What verifying a token through a JWKS gave: verified, or the key was not there, or another failure. */
export type Verification = { ok: true } | { ok: false; noKey: boolean; message: string };

/** Verifies `token` through the keys of `jwks`, as a verifier reading that JWKS would. */
export async function verifyThrough(token: string, jwks: Jwks): Promise<Verification> {
  try {
    await jwtVerify(token, createLocalJWKSet(jwks as { keys: [] }));
    return { ok: true };
  } catch (e) {
    const noKey = e instanceof errors.JWKSNoMatchingKey;
    return { ok: false, noKey, message: noKey ? 'no key in the JWKS matches its kid' : (e as Error).message };
  }
}
