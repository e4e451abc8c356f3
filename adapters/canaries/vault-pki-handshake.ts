import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type NodeVault from 'node-vault';
import type { Canary } from '../../core/playbook/schema';
import { bundleCerts, bundleText, issuedBy, parseCaCert } from '../credentials/vault-pki-ca-pem';
import { pkiMount } from '../credentials/vault-pki-ca-vault';
import type { KubeClients } from '../kubernetes/clients';
import { describeConfigMapKey, readConfigMapKey } from '../kubernetes/configmap-key';
import type { CanaryOutcome } from './outcome';

type HandshakeCanary = Extract<Canary, { type: 'vault-pki-handshake' }>;

/** One TLS handshake against a loopback listener serving `cert`/`key`, verified with `ca` as a client would. */
function handshake(
  o: { cert: string; key: string; ca: string; servername: string },
  signal: AbortSignal,
): Promise<{ ok: true; peer: X509Certificate } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    const server = tls.createServer({ cert: o.cert, key: o.key }, (socket) => socket.end());
    server.on('tlsClientError', () => undefined);
    const done = (r: { ok: true; peer: X509Certificate } | { ok: false; why: string }) => {
      server.close();
      resolve(r);
    };
    signal.addEventListener('abort', () => done({ ok: false, why: 'timed out or cancelled' }), { once: true });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = tls.connect({ host: '127.0.0.1', port, servername: o.servername, ca: o.ca }, () => {
        const peer = socket.getPeerX509Certificate();
        socket.destroy();
        done(peer ? { ok: true, peer } : { ok: false, why: 'no peer certificate' });
      });
      socket.on('error', (e: Error) => done({ ok: false, why: e.message }));
    });
  });
}

/**
 * Issues a 5-minute leaf from the issuer whose certificate is the credential, serves it on a
 * loopback listener and completes a TLS handshake verified with the bundle as published in the
 * canary's cluster (what a client mounting it would do); the leaf is revoked afterwards. Its
 * private key stays in this function's memory. Details name fingerprints and serials only.
 */
export async function runVaultPkiHandshake(
  c: HandshakeCanary,
  credential: string,
  signal: AbortSignal,
  deps: { kube: KubeClients; vault: NodeVault.client },
): Promise<CanaryOutcome> {
  const target = { cluster: c.cluster, context: c.cluster, namespace: c.namespace };
  const where = describeConfigMapKey(target, { configMap: c.configMap, key: c.key });
  const stop = AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]);
  const pki = pkiMount(deps.vault, c.mount);
  try {
    const ca = parseCaCert(credential, 'the credential');
    const issuer = await pki.issuerOf(ca);
    if (!issuer) return { ok: false, detail: `the new CA ${ca.fingerprint} is not an issuer of mount ${c.mount}` };
    const read = await readConfigMapKey(deps.kube, target, { configMap: c.configMap, key: c.key });
    if (!read.exists) return { ok: false, detail: `${where} does not exist; no client there trusts the new CA` };
    const bundle = bundleCerts(read.text);
    if (!bundle.some((b) => b.fingerprint === ca.fingerprint))
      return {
        ok: false,
        detail: `the new CA ${ca.fingerprint} is not in ${where} (${bundle.map((b) => b.fingerprint).join(', ')})`,
      };
    const leaf = await pki.issueFrom(issuer.id, c.role, c.commonName, '5m');
    if (!leaf.ok)
      return { ok: false, detail: `${c.mount} issuer ${issuer.id} did not issue a test leaf: ${leaf.refusal}` };
    try {
      const r = await handshake(
        { cert: leaf.certificate, key: leaf.privateKey, ca: bundleText(bundle), servername: c.commonName },
        stop,
      );
      if (!r.ok)
        return {
          ok: false,
          detail: `TLS handshake with test leaf ${leaf.serial} verified with ${where} failed: ${r.why}`,
        };
      if (!issuedBy(r.peer, ca))
        return { ok: false, detail: `the handshake presented a certificate the new CA ${ca.fingerprint} did not sign` };
      return {
        ok: true,
        detail: `TLS handshake with test leaf ${leaf.serial} (${c.commonName}) from ${c.mount} issuer ${issuer.name || issuer.id} verified with ${where}; the leaf is revoked`,
      };
    } finally {
      await pki.revokeSerial(leaf.serial);
    }
  } catch (e) {
    return { ok: false, detail: `${where}: ${(e as Error).message}` };
  }
}
