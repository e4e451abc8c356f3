import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterName } from '../config';
import { makeCa, signCert, writeOpensslConfig } from '../pki';
import type { CertFiles } from '../pki';
import { requireTool } from '../toolchain';
import { clusterPaths, kubePaths } from './paths';

/** The kube stack's openssl config: serving certificates also name the in-cluster service. */
function opensslConfig(stateDir: string): string {
  return writeOpensslConfig(join(kubePaths(stateDir).dir, 'openssl.cnf'), [
    'IP:127.0.0.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
  ]);
}

/** Creates the CA once; returns true when it was (re)created, so certificates it signed are stale. */
async function ensureCa(stateDir: string, cnf: string): Promise<boolean> {
  const p = kubePaths(stateDir);
  if (existsSync(p.caCert) && existsSync(p.caKey)) return false;
  await makeCa(cnf, { cert: p.caCert, key: p.caKey }, 'rotor-dev-kube-ca');
  return true;
}

/** A key and a certificate signed by the cluster CA. */
function signedCert(
  stateDir: string,
  cnf: string,
  out: CertFiles,
  subject: string,
  extensions: 'serving' | 'client',
): Promise<void> {
  const ca = kubePaths(stateDir);
  return signCert(cnf, { cert: ca.caCert, key: ca.caKey }, out, subject, extensions);
}

/** A serving certificate for 127.0.0.1/localhost signed by the CA. */
async function servingCert(stateDir: string, cluster: ClusterName, cnf: string): Promise<void> {
  const c = clusterPaths(stateDir, cluster);
  await signedCert(
    stateDir,
    cnf,
    { cert: c.servingCert, key: c.servingKey },
    `/CN=kube-apiserver-${cluster}`,
    'serving',
  );
}

/**
 * A client certificate signed by the cluster CA (which every API server trusts through
 * `--client-ca-file`) for user `user` in group `group`, made once: node components authenticate as
 * themselves (`system:node:<name>`, `system:kube-scheduler`) instead of as admin.
 */
export async function ensureClientCert(
  stateDir: string,
  out: { cert: string; key: string },
  user: string,
  group?: string,
): Promise<void> {
  if (existsSync(out.cert) && existsSync(out.key)) return;
  const subject = `${group ? `/O=${group}` : ''}/CN=${user}`;
  await signedCert(stateDir, opensslConfig(stateDir), out, subject, 'client');
}

/** The service-account token signing key pair (PKCS#8/SPKI PEM, both accepted by kube-apiserver). */
function serviceAccountKeys(stateDir: string, cluster: ClusterName): void {
  const c = clusterPaths(stateDir, cluster);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(c.saSigningKey, privateKey, { mode: 0o600 });
  writeFileSync(c.saPublicKey, publicKey);
}

/** The admin token and the `--token-auth-file` naming it: user `admin`, group `system:masters`. */
function adminToken(stateDir: string, cluster: ClusterName): void {
  const c = clusterPaths(stateDir, cluster);
  const token = randomBytes(32).toString('hex');
  writeFileSync(c.adminToken, `${token}\n`, { mode: 0o600 });
  writeFileSync(c.tokenFile, `${token},admin,admin,system:masters\n`, { mode: 0o600 });
}

/**
 * Generates, once, the CA and per cluster a serving certificate, a service-account key pair and
 * an admin token. Existing files are kept, so restarts and kubeconfigs stay valid; a new CA
 * re-issues every serving certificate.
 */
export async function ensurePki(stateDir: string, clusters: readonly ClusterName[]): Promise<void> {
  requireTool('openssl', "install OpenSSL (Debian/Ubuntu: 'apt-get install openssl'; macOS: 'brew install openssl').");
  const ca = kubePaths(stateDir);
  mkdirSync(ca.dir, { recursive: true, mode: 0o700 });
  const cnf = opensslConfig(stateDir);
  const newCa = await ensureCa(stateDir, cnf);
  for (const cluster of clusters) {
    const c = clusterPaths(stateDir, cluster);
    mkdirSync(c.dir, { recursive: true, mode: 0o700 });
    if (newCa || !existsSync(c.servingCert) || !existsSync(c.servingKey)) await servingCert(stateDir, cluster, cnf);
    if (!existsSync(c.saSigningKey) || !existsSync(c.saPublicKey)) serviceAccountKeys(stateDir, cluster);
    if (!existsSync(c.adminToken) || !existsSync(c.tokenFile)) adminToken(stateDir, cluster);
  }
}

/** The admin token of a cluster, as written by `ensurePki`. */
export function readAdminToken(stateDir: string, cluster: ClusterName): string {
  return readFileSync(clusterPaths(stateDir, cluster).adminToken, 'utf8').trim();
}
