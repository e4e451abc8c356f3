/**
 * A small X.509 toolkit over the `openssl` binary: a CA, serving certificates for loopback and client
 * certificates. The kube stack, the Temporal TLS front and Vault's TLS listener (and their tests) make
 * their PKI with it.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** PEM files of a loopback service's PKI: its CA, its serving certificate and a client certificate. */
export interface LoopbackPki {
  ca: CertFiles;
  server: CertFiles;
  client: CertFiles;
}

/** The PKI files under `dir`; `ensureLoopbackPki` creates what is missing. */
export function loopbackPki(dir: string): LoopbackPki {
  const pair = (name: string) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return { ca: pair('ca'), server: pair('server'), client: pair('client') };
}

/** Still valid for a day, and (when `issuer` is given) signed by it; false for a missing or unreadable file. */
function usable(c: CertFiles, issuer?: CertFiles): boolean {
  if (!existsSync(c.cert) || !existsSync(c.key)) return false;
  try {
    const cert = new X509Certificate(readFileSync(c.cert));
    const fresh = Date.parse(cert.validTo) > Date.now() + 86_400_000;
    return fresh && (issuer === undefined || cert.verify(new X509Certificate(readFileSync(issuer.cert)).publicKey));
  } catch {
    return false;
  }
}

/**
 * Makes what is missing, expired (or within a day of it) or not signed by the CA under `dir`: a CA
 * named `caName`, a serving certificate for 127.0.0.1/localhost and, with `clientName`, a client
 * certificate. A new CA re-issues the certificates. Idempotent: usable files are kept.
 */
export async function ensureLoopbackPki(dir: string, caName: string, clientName?: string): Promise<LoopbackPki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = loopbackPki(dir);
  const cnf = writeOpensslConfig(join(dir, 'openssl.cnf'), ['IP:127.0.0.1', 'DNS:localhost']);
  if (!usable(p.ca)) await makeCa(cnf, p.ca, caName);
  if (!usable(p.server, p.ca)) await signCert(cnf, p.ca, p.server, '/CN=localhost', 'serving');
  if (clientName !== undefined && !usable(p.client, p.ca))
    await signCert(cnf, p.ca, p.client, `/CN=${clientName}`, 'client');
  return p;
}
