import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { ErrorTypes, permanent } from '../../core/failures';
import { parseCredentialJson } from './values';

/**
 * A `vault-pki-certificate` value as stored: PEM certificate, PEM private key, the PEM chain of the
 * CA that issued it (issuing CA first, as Vault's `ca_chain`), and the serial in Vault's form
 * (`3a:0b:…`). Only `privateKey` is secret.
 */
export interface CertificateBundle {
  certificate: string;
  privateKey: string;
  caChain: string;
  serialNumber: string;
}

/** Public facts of a certificate, fit for evidence, logs and Temporal. */
export interface CertificateFacts {
  serialNumber: string;
  notAfter: string;
  /** SHA-256 of the DER certificate, hex. */
  sha256: string;
  subject: string;
}

/** A serial as lowercase hex without separators or leading zeros, the form serials are compared in. */
export const normalSerial = (serial: string): string =>
  serial
    .replace(/[^0-9a-fA-F]/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');

/** Each PEM block (`-----BEGIN …-----` … `-----END …-----`) of a text, in order. */
export function pemBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g)].map((m) => m[0]);
}

/** The certificates of a PEM text, parsed; a message naming `what` when one does not parse. */
export function certificatesOf(pem: string, what: string): X509Certificate[] {
  const blocks = pemBlocks(pem).filter((b) => b.startsWith('-----BEGIN CERTIFICATE-----'));
  if (blocks.length === 0) throw permanent(ErrorTypes.invalidInput, `${what} holds no PEM certificate`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw permanent(ErrorTypes.invalidInput, `${what}: certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
}

/** The public facts of a PEM certificate. */
export function factsOf(cert: X509Certificate): CertificateFacts {
  return {
    serialNumber: cert.serialNumber.toLowerCase().match(/../g)?.join(':') ?? cert.serialNumber,
    notAfter: new Date(cert.validTo).toISOString(),
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
    subject: cert.subject.replace(/\n/g, ', '),
  };
}

/**
 * Parses and checks a stored value: the certificate parses, its serial is `serialNumber`, the
 * private key parses and belongs to the certificate, and the chain parses. Errors name `what` and
 * the part, never the value.
 */
export function parseCertificateBundle(text: string, what: string): CertificateBundle & { cert: X509Certificate } {
  const b = parseCredentialJson(text, ['certificate', 'privateKey', 'caChain', 'serialNumber'] as const, what);
  const [cert] = certificatesOf(b.certificate, `${what}'s certificate`);
  certificatesOf(b.caChain, `${what}'s caChain`);
  if (!cert) throw permanent(ErrorTypes.invalidInput, `${what}'s certificate holds no PEM certificate`);
  if (normalSerial(cert.serialNumber) !== normalSerial(b.serialNumber))
    throw permanent(
      ErrorTypes.invalidInput,
      `${what}: serialNumber ${b.serialNumber} is not the certificate's serial (${factsOf(cert).serialNumber})`,
    );
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(b.privateKey));
  } catch {
    throw permanent(ErrorTypes.invalidInput, `${what}'s privateKey is not a PEM private key (value not shown)`);
  }
  if (!matches)
    throw permanent(
      ErrorTypes.invalidInput,
      `${what}: privateKey does not belong to the certificate (serial ${factsOf(cert).serialNumber})`,
    );
  return { ...b, cert };
}

const selfSigned = (c: X509Certificate): boolean => c.subject === c.issuer && c.verify(c.publicKey);

/**
 * The data of a `kubernetes.io/tls` Secret serving a bundle: `tls.crt` is the certificate with the
 * intermediates of its chain (what a server sends), `ca.crt` the chain's self-signed roots (what a
 * client trusts; the whole chain when it holds no root), `tls.key` the private key.
 */
export function tlsSecretData(b: CertificateBundle): Record<'tls.crt' | 'tls.key' | 'ca.crt', string> {
  const chain = pemBlocks(b.caChain).filter((p) => p.startsWith('-----BEGIN CERTIFICATE-----'));
  const roots = chain.filter((p) => selfSigned(new X509Certificate(p)));
  const intermediates = chain.filter((p) => !roots.includes(p));
  const lines = (blocks: string[]) => blocks.map((p) => `${p}\n`).join('');
  return {
    'tls.crt': lines([...pemBlocks(b.certificate).slice(0, 1), ...intermediates]),
    'tls.key': b.privateKey.endsWith('\n') ? b.privateKey : `${b.privateKey}\n`,
    'ca.crt': lines(roots.length > 0 ? roots : chain),
  };
}
