/**
 * How pods on a stack node reach the stack's services, which listen on 127.0.0.1 only: TCP
 * forwarders bound on the node's bridge gateway (`10.200.N.1`, the address every pod's default
 * route points at) to a loopback address. Only the node's pods can reach that address, so the
 * services stay closed to everything else, and the pods keep the restricted Pod Security profile
 * (no `hostNetwork`). Linux does not deliver traffic from another interface to 127.0.0.0/8
 * (`route_localnet` is off, and stays off), which is why a process forwards instead.
 *
 * The apiservers' certificates name `kubernetes.default.svc`, so pods reach them through plain TCP
 * forwarding (TLS end to end, with a host alias for that name). Temporal and Vault refuse plaintext
 * beyond loopback, and so does rotor, so their forwarders terminate TLS with a certificate for the
 * gateway's address signed by a CA of the gateway's own (`gatewayPki`), which the pods are given.
 *
 * The CNI bridge plugin makes the bridge when the node's first pod starts; the gateway makes it
 * first when no pod has yet, so it can bind before the pods that use it exist (the plugin adopts an
 * existing bridge and its address).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { makeCa, signCert, writeOpensslConfig } from '../pki';
import type { CertFiles } from '../pki';
import type { NodeInstance } from './instance';

const run = promisify(execFile);

/**
 * A loopback service to forward to; with `tls`, the forwarder terminates TLS with that certificate
 * and offers the one application protocol the plaintext service speaks (ALPN): `h2` for gRPC
 * (Temporal), `http/1.1` for Vault's API.
 */
export interface GatewayTarget {
  host: string;
  port: number;
  tls?: CertFiles & { protocol: 'h2' | 'http/1.1' };
  /** The gateway's port for it; without it, a free one. */
  listen?: number;
}

export interface PodGateway {
  /** The node's gateway address (`10.200.N.1`), the host part of every `address`. */
  readonly host: string;
  /** `host:port` on the gateway that forwards to `target` (each named target has its own port). */
  address(name: string): string;
  close(): Promise<void>;
}

/** `10.200.N.1` for the node's `10.200.N.0/24`: the first address, which the bridge plugin gives the bridge. */
export function gatewayAddress(node: Pick<NodeInstance, 'subnet'>): string {
  const [net] = node.subnet.split('/');
  const parts = (net ?? '').split('.');
  if (parts.length !== 4) throw new Error(`node subnet ${node.subnet} is not an IPv4 /24`);
  return [...parts.slice(0, 3), '1'].join('.');
}

/** Whether the bridge carries the address (asked of `ip`: Node lists no interface without carrier, as a bridge without pods is). */
async function bridgeHas(bridge: string, host: string): Promise<boolean> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge]).catch(() => ({ stdout: '' }));
  return stdout.includes(` ${host}/`);
}

/** Makes the node's bridge with the gateway address unless it exists (root, as the stack's nodes run). */
async function ensureBridge(node: NodeInstance, host: string): Promise<void> {
  if (await bridgeHas(node.bridge, host)) return;
  const ip = (...args: string[]) => run('ip', args).catch((e: unknown) => e as Error);
  await ip('link', 'add', 'name', node.bridge, 'type', 'bridge');
  await ip('addr', 'add', `${host}/${node.subnet.split('/')[1] ?? '24'}`, 'dev', node.bridge);
  await ip('link', 'set', node.bridge, 'up');
  if (!(await bridgeHas(node.bridge, host)))
    throw new Error(
      `node ${node.id}: bridge ${node.bridge} has no address ${host}, and 'ip' could not add it (the stack runs as root; is iproute2 installed?)`,
    );
}

interface Forwarder {
  server: Server;
  /** Open connections, ended at close (a listening server's close waits for them). */
  sockets: Set<Socket>;
}

/**
 * A CA and a serving certificate for the gateway's address under `dir` (made anew each time: a
 * test's scratch directory, or the stack's state).
 */
export async function gatewayPki(dir: string, host: string): Promise<{ ca: CertFiles; server: CertFiles }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cnf = writeOpensslConfig(join(dir, 'openssl.cnf'), [`IP:${host}`]);
  const pair = (name: string) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  const [ca, server] = [pair('gateway-ca'), pair('gateway')];
  await makeCa(cnf, ca, `rotor-dev-pod-gateway-${host}`);
  await signCert(cnf, ca, server, `/CN=${host}`, 'serving');
  return { ca, server };
}

/** One forwarder: connections to the gateway's port are piped to `target`. */
async function forwarder(host: string, target: GatewayTarget): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const tls = target.tls;
  const listener = (inbound: Socket) => {
    const outbound = connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
  };
  const server = tls
    ? createTlsServer(
        { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ALPNProtocols: [tls.protocol] },
        listener,
      ).on('tlsClientError', () => undefined)
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target.listen ?? 0, host, () => resolve());
  });
  return { server, sockets };
}

function closeForwarder(f: Forwarder): Promise<void> {
  for (const s of f.sockets) s.destroy();
  return new Promise<void>((resolve) => f.server.close(() => resolve()));
}

/**
 * Forwarders on `node`'s gateway address, one free port per named target, for as long as the
 * caller keeps it open (a test, or a stack service).
 */
export async function podGateway(node: NodeInstance, targets: Record<string, GatewayTarget>): Promise<PodGateway> {
  const host = gatewayAddress(node);
  await ensureBridge(node, host);
  const servers = new Map<string, Forwarder>();
  try {
    for (const [name, target] of Object.entries(targets)) servers.set(name, await forwarder(host, target));
  } catch (e) {
    await Promise.all([...servers.values()].map(closeForwarder));
    throw e;
  }
  return {
    host,
    address(name) {
      const s = servers.get(name);
      if (!s)
        throw new Error(`pod gateway of ${node.id} forwards no '${name}' (it has ${[...servers.keys()].join(', ')})`);
      return `${host}:${(s.server.address() as AddressInfo).port}`;
    },
    async close() {
      await Promise.all([...servers.values()].map(closeForwarder));
    },
  };
}
