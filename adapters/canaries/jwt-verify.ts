import type { Canary } from '../../core/playbook/schema';
import { parsePrivateJwk, kidsOf, signTestToken, verifyThrough } from '../credentials/jwk';
import type { KubeClients } from '../kubernetes/clients';
import { describeJwks, readJwks } from '../kubernetes/jwks';
import type { CanaryOutcome } from './outcome';

type JwtVerifyCanary = Extract<Canary, { type: 'jwt-verify' }>;

/** Bounds `p` by `ms` and `signal`: a JWKS read that hangs fails the canary instead of holding it. */
function bounded<T>(p: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  const stop = AbortSignal.any([signal, AbortSignal.timeout(ms)]);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(signal.aborted ? 'cancelled' : `timed out after ${ms}ms`));
    if (stop.aborted) return onAbort();
    stop.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => stop.removeEventListener('abort', onAbort));
  });
}

/**
 * Signs a short-lived JWT with the credential (a private JWK with `kid`) and verifies it through
 * the JWKS as published in the canary's cluster, read from the ConfigMap through that cluster's
 * apiserver: what a verifier there would do. Fails when the kid is not published or the signature
 * does not verify. The detail names kids (public) and never the key.
 */
export async function runJwtVerify(
  c: JwtVerifyCanary,
  credential: string,
  signal: AbortSignal,
  kube: KubeClients,
): Promise<CanaryOutcome> {
  const target = { cluster: c.cluster, context: c.cluster, namespace: c.namespace };
  const at = { configMap: c.configMap, key: c.key };
  const where = describeJwks(target, at);
  try {
    const jwk = parsePrivateJwk(credential, 'the credential');
    const token = await signTestToken(jwk);
    const jwks = await bounded(readJwks(kube, target, at), c.timeout, signal);
    if (!jwks) return { ok: false, detail: `${where} does not exist; no verifier there can know kid ${jwk.kid}` };
    const kids = kidsOf(jwks);
    if (!kids.includes(jwk.kid))
      return { ok: false, detail: `kid ${jwk.kid} is not in ${where} (kids there: [${kids.join(', ')}])` };
    const verified = await verifyThrough(token, jwks);
    if (!verified.ok)
      return {
        ok: false,
        detail: `a token signed with kid ${jwk.kid} did not verify through ${where}: ${verified.message}`,
      };
    return { ok: true, detail: `a token signed with kid ${jwk.kid} (${jwk.alg}) verified through ${where}` };
  } catch (e) {
    // Parse errors name only the member that is wrong; kube errors name the cluster and the object.
    return { ok: false, detail: `${where}: ${(e as Error).message}` };
  }
}
