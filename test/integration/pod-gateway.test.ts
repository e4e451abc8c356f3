/**
 * The pod gateway (dev/local-stack/node/pod-gateway.ts) on cluster-a's node, seen from the host at
 * the node's gateway address as the node's pods see it: Vault's API through a TLS-terminating
 * forwarder verified with the gateway's CA only (no other CA, and no plaintext, gets through), and
 * the apiserver forwarded as TCP, its own TLS verified under the name `kubernetes.default.svc`.
 * Closing the gateway closes its ports.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPaths } from '../../dev/local-stack/config';
import { stackNode } from '../../dev/local-stack/node/instance';
import { gatewayAddress, gatewayPki, podGateway } from '../../dev/local-stack/node/pod-gateway';
import type { PodGateway } from '../../dev/local-stack/node/pod-gateway';
import { clusterCaPem, kubeconfigFor } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

const env = useStackEnv();
const dir = mkdtempSync(join(tmpdir(), 'rotor-pod-gateway-test-'));
const node = stackNode(stackPaths().stateDir, 'cluster-a');
const host = gatewayAddress(node);
let gateway: PodGateway;
let gatewayCa: string;
const kcA = kubeconfigFor('cluster-a');
const kubeCa = clusterCaPem(kcA);

/** GET `path` at `address` over TLS; the status code, or the error's code/message. */
function get(address: string, path: string, o: RequestOptions): Promise<number | string> {
  const [h, p] = address.split(':');
  return new Promise((resolve) => {
    const req = request({ host: h, port: Number(p), path, timeout: 10_000, ...o }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

beforeAll(async () => {
  const pki = await gatewayPki(dir, host);
  gatewayCa = readFileSync(pki.ca.cert, 'utf8');
  const vault = new URL(env['VAULT_ADDR'] ?? '');
  const kube = new URL(kcA.getCurrentCluster()?.server ?? '');
  gateway = await podGateway(node, {
    vault: { host: vault.hostname, port: Number(vault.port), tls: { ...pki.server, protocol: 'http/1.1' } },
    kube: { host: kube.hostname, port: Number(kube.port) },
  });
});

afterAll(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the pod gateway', () => {
  it("serves Vault at the node's gateway over TLS with its own CA, and nothing else", async () => {
    expect(gateway.address('vault')).toMatch(new RegExp(`^${host.replaceAll('.', '\\.')}:\\d+$`));
    expect(await get(gateway.address('vault'), '/v1/sys/health', { ca: gatewayCa })).toBe(200);
    // Another CA (the cluster's) does not verify it; neither do the system CAs.
    expect(await get(gateway.address('vault'), '/v1/sys/health', { ca: kubeCa })).toMatch(/CERT|SIGNATURE|ISSUER/);
    expect(await get(gateway.address('vault'), '/v1/sys/health', {})).toMatch(/CERT|SIGNATURE|ISSUER/);
  });

  it('forwards the apiserver as TCP, verified as kubernetes.default.svc with the cluster CA', async () => {
    const kube = gateway.address('kube');
    expect(await get(kube, '/livez', { ca: kubeCa, servername: 'kubernetes.default.svc' })).toBe(200);
    // The gateway's address itself is not a name the apiserver's certificate carries.
    expect(await get(kube, '/livez', { ca: kubeCa })).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('names what it does not forward, and closes its ports', async () => {
    expect(() => gateway.address('temporal')).toThrow(/forwards no 'temporal' \(it has vault, kube\)/);
    const port = Number(gateway.address('vault').split(':')[1]);
    await gateway.close();
    const refused = await new Promise<string>((resolve) => {
      const s = connect(port, host);
      s.on('connect', () => (s.destroy(), resolve('connected')));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
