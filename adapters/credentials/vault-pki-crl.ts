// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { X509Certificate as PeculiarCertificate, X509Crl } from '@peculiar/x509';
import { normalSerial } from './vault-pki-value';

/** What one CRL says about the serials asked about. */
export interface CrlCheck {
  /** Whether the CRL's signature verifies under one of the given CA certificates (and which one). */
  signedBy: string | undefined;
  thisUpdate: string;
  nextUpdate: string | undefined;
  entries: number;
  /** Revocation time per serial asked about that the CRL lists. */
  listed: Map<string, string>;
}

/**
 * Parses a PEM or DER CRL with @peculiar/x509, verifies its signature against the CA certificates
 * (PEM) and looks the serials up. The serials come back in the form they were asked with.
 */
export async function checkCrl(crl: string | ArrayBuffer, caPems: string[], serials: string[]): Promise<CrlCheck> {
  const parsed = new X509Crl(crl);
  let signedBy: string | undefined;
  for (const pem of caPems) {
    const ca = new PeculiarCertificate(pem);
    // A CA whose key does not match may fail to import for the CRL's algorithm: that is "not signed by it".
    const ok = await parsed.verify({ publicKey: ca }).catch(() => false);
    if (ok) {
      signedBy = ca.subject;
      break;
    }
  }
  const bySerial = new Map(parsed.entries.map((e) => [normalSerial(e.serialNumber), e]));
  const listed = new Map<string, string>();
  for (const s of serials) {
    const entry = bySerial.get(normalSerial(s));
    if (entry) listed.set(s, entry.revocationDate.toISOString());
  }
  return {
    signedBy,
    thisUpdate: parsed.thisUpdate.toISOString(),
    nextUpdate: parsed.nextUpdate?.toISOString(),
    entries: parsed.entries.length,
    listed,
  };
}
