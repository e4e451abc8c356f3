/**
 * A small X.509 toolkit over the `openssl` binary: a CA, serving certificates for loopback and client
 * certificates. The kube stack and the Temporal TLS front (and their tests) make their PKI with it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const days = '3650';

/** A certificate and its private key, as PEM file paths. */
export interface CertFiles {
  cert: string;
  key: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? String(e);
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim()}`);
  }
}

/**
 * Writes one openssl config for the CA and the certificates it signs (sections `ca`, `serving`,
 * `client`): distributions' default openssl.cnf differ, and `-extfile` (unlike `req -x509 -CA`) works
 * on OpenSSL 1.1 and 3.x alike. Serving certificates name `subjectAltNames` (e.g. `IP:127.0.0.1`).
 */
export function writeOpensslConfig(file: string, subjectAltNames: readonly string[]): string {
  writeFileSync(
    file,
    [
      '[req]',
      'distinguished_name=dn',
      '[dn]',
      '[ca]',
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '[serving]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${subjectAltNames.join(',')}`,
      '[client]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'),
  );
  return file;
}

/** A self-signed CA named `commonName`. */
export async function makeCa(cnf: string, out: CertFiles, commonName: string): Promise<void> {
  // prettier-ignore
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', days,
    '-subj', `/CN=${commonName}`, '-config', cnf, '-extensions', 'ca', '-keyout', out.key, '-out', out.cert]);
}

/** A key and a certificate signed by `ca` for `subject`, with the config section `extensions`. */
export async function signCert(
  cnf: string,
  ca: CertFiles,
  out: CertFiles,
  subject: string,
  extensions: 'serving' | 'client',
): Promise<void> {
  const csr = `${out.cert}.csr`;
  // prettier-ignore
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', subject, '-config', cnf,
    '-keyout', out.key, '-out', csr]);
  // prettier-ignore
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key,
    '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-sha256', '-days', days,
    '-extfile', cnf, '-extensions', extensions, '-out', out.cert]);
  rmSync(csr);
}
