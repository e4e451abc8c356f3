/**
 * PEM certificates of a CA rollover: parsing one, the SHA-256 fingerprints evidence names, and
 * trust bundles (PEM certificates one after the other, as trust-manager writes `ca.crt`).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { ErrorTypes, permanent } from '../../core/failures';

const pemBlock = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** A parsed certificate with its PEM (normalised) and short SHA-256 fingerprint. */
export interface Cert {
  pem: string;
  x509: X509Certificate;
  /** `sha256:` and the first 16 hex digits of the SHA-256 of the DER: public, named in evidence. */
  fingerprint: string;
  /** Serial as Vault writes it: lowercase hex pairs joined by `:`. */
  serial: string;
}

/** Vault's form of a serial: `41:d7:…`, lowercase, an even number of digits. */
export function vaultSerial(hex: string): string {
  const h = hex.replace(/:/g, '').toLowerCase();
  return (h.length % 2 ? `0${h}` : h).match(/../g)?.join(':') ?? '';
}

function parseOne(pem: string): Cert {
  const x509 = new X509Certificate(pem);
  const sha = createHash('sha256').update(x509.raw).digest('hex');
  return {
    pem: x509.toString().trim(),
    x509,
    fingerprint: `sha256:${sha.slice(0, 16)}`,
    serial: vaultSerial(x509.serialNumber),
  };
}

/** The one CA certificate a stored value holds; InvalidInput naming `what` otherwise. */
export function parseCaCert(text: string, what: string): Cert {
  const blocks = text.match(pemBlock) ?? [];
  if (blocks.length !== 1)
    throw permanent(
      ErrorTypes.invalidInput,
      `${what} must be exactly one PEM certificate (a vault-pki-ca-rollover stores its CA's certificate); found ${blocks.length}`,
    );
  let cert: Cert;
  try {
    cert = parseOne(blocks[0] ?? '');
  } catch (e) {
    throw permanent(ErrorTypes.invalidInput, `${what} is not a readable certificate: ${(e as Error).message}`);
  }
  if (!cert.x509.ca) throw permanent(ErrorTypes.invalidInput, `${what} (${cert.fingerprint}) is not a CA certificate`);
  return cert;
}

/** Every certificate of a bundle, in order; unreadable blocks are skipped (they trust nothing). */
export function bundleCerts(text: string | undefined): Cert[] {
  return (text?.match(pemBlock) ?? []).flatMap((b) => {
    try {
      return [parseOne(b)];
    } catch {
      return [];
    }
  });
}

/** The bundle text of `certs`: PEM blocks joined by newlines, ending in one. */
export function bundleText(certs: readonly Cert[]): string {
  return certs.map((c) => `${c.pem}\n`).join('');
}

/** `bundle` with `add` appended where its fingerprint is not there yet. */
export function withCert(bundle: readonly Cert[], add: Cert): Cert[] {
  return bundle.some((c) => c.fingerprint === add.fingerprint) ? [...bundle] : [...bundle, add];
}

/** `bundle` without the certificate of `drop`. */
export function withoutCert(bundle: readonly Cert[], drop: Cert): Cert[] {
  return bundle.filter((c) => c.fingerprint !== drop.fingerprint);
}

/** Whether `leaf` was signed by `ca` (issuer name and signature). */
export function issuedBy(leaf: X509Certificate, ca: Cert): boolean {
  return leaf.checkIssued(ca.x509) && leaf.verify(ca.x509.publicKey);
}

/** The first certificate of a PEM chain (a `tls.crt`), undefined when there is none. */
export function firstCert(text: string | undefined): X509Certificate | undefined {
  return bundleCerts(text)[0]?.x509;
}
