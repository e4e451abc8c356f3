import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadKubeconfig } from './clients';

const saved = process.env['KUBECONFIG'];
afterEach(() => {
  if (saved === undefined) delete process.env['KUBECONFIG'];
  else process.env['KUBECONFIG'] = saved;
});

/** Points KUBECONFIG at a file with one cluster, user and context. */
function kubeconfigWith(cluster: Record<string, unknown>): void {
  const file = join(mkdtempSync(join(tmpdir(), 'rotor-kc-')), 'config');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'prod', cluster }],
      users: [{ name: 'rotor', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'rotor' } }],
      'current-context': 'prod',
    }),
  );
  process.env['KUBECONFIG'] = file;
}

describe('loadKubeconfig and TLS verification', () => {
  it('refuses insecure-skip-tls-verify for an apiserver beyond this machine, naming the cluster and the fix', () => {
    kubeconfigWith({ server: 'https://10.20.30.40:6443', 'insecure-skip-tls-verify': true });
    expect(() => loadKubeconfig()).toThrow(
      /kubeconfig cluster 'prod' \(server https:\/\/10\.20\.30\.40:6443\) sets insecure-skip-tls-verify.*certificate-authority-data/,
    );
  });

  it('refuses a plaintext http apiserver beyond this machine, naming the cluster', () => {
    kubeconfigWith({ server: 'http://10.20.30.40:8080' });
    expect(() => loadKubeconfig()).toThrow(
      "kubeconfig cluster 'prod' server http://10.20.30.40:8080 is plaintext http beyond this machine: tokens, client certificates and Secrets would travel in cleartext; use https://",
    );
    kubeconfigWith({ server: 'http://127.0.0.1:8080' });
    expect(loadKubeconfig().getCluster('prod')?.server).toBe('http://127.0.0.1:8080');
  });

  it('allows it for a loopback apiserver (a dev stack) and loads a verified cluster anywhere', () => {
    kubeconfigWith({ server: 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': true });
    expect(loadKubeconfig().getCluster('prod')?.skipTLSVerify).toBe(true);
    kubeconfigWith({ server: 'https://[::1]:6443', 'insecure-skip-tls-verify': true });
    expect(loadKubeconfig().getCluster('prod')?.server).toBe('https://[::1]:6443');
    kubeconfigWith({
      server: 'https://10.20.30.40:6443',
      'certificate-authority-data': Buffer.from('ca').toString('base64'),
    });
    expect(loadKubeconfig().getCluster('prod')?.skipTLSVerify).toBeFalsy();
  });
});
