import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { nodeImages } from '../config';
import type { NodeInstance } from './instance';

const run = promisify(execFile);

/** Debian's CNI plugin directory (package containernetworking-plugins). */
export const cniBinDir = '/usr/lib/cni';

/**
 * containerd's config for one node: root, state, sockets, runc root, CNI config and network
 * namespaces all under the node's directory, so nodes never see each other's containers.
 */
export function containerdConfig(node: NodeInstance): string {
  const p = node.paths;
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${JSON.stringify(p.containerdRoot)}
state = ${JSON.stringify(p.containerdState)}

[grpc]
  address = ${JSON.stringify(p.containerdSocket)}

[ttrpc]
  address = ${JSON.stringify(`${p.containerdSocket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${JSON.stringify(`${p.dir}/containerd/opt`)}

[${cri}]
  sandbox_image = ${JSON.stringify(nodeImages.pause)}
  # Root here may lack CAP_SYS_RESOURCE: without this every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Pinned network namespaces under the node's state dir rather than the host's /var/run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = ${JSON.stringify(p.runcRoot)}

[${cri}.cni]
  bin_dir = ${JSON.stringify(cniBinDir)}
  conf_dir = ${JSON.stringify(p.cniConfDir)}
  max_conf_num = 1
`;
}

/**
 * The node's CNI network: a bridge with host-local addresses from the node's own subnet (state
 * under the node's directory) and the loopback plugin containerd adds itself. No masquerading:
 * pods talk to each other and to the node, which is all the local stack needs.
 */
export function cniConfig(node: NodeInstance): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: `rotor-${node.id}`,
      plugins: [
        {
          type: 'bridge',
          bridge: node.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: node.subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: node.paths.cniIpamDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** Writes the node's containerd and CNI configuration (same content on every start). */
export function writeContainerdFiles(node: NodeInstance): void {
  const p = node.paths;
  for (const d of [p.containerdRoot, p.containerdState, p.runcRoot, p.cniConfDir, p.cniIpamDir]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(p.containerdConfig, containerdConfig(node));
  writeFileSync(`${p.cniConfDir}/10-rotor.conflist`, cniConfig(node));
}

/** `ctr` against the node's containerd in the CRI namespace. */
export async function ctr(node: NodeInstance, args: string[], timeout = 60_000): Promise<string> {
  const { stdout } = await run('ctr', ['--address', node.paths.containerdSocket, '--namespace', 'k8s.io', ...args], {
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Undefined when the node's containerd answers, else why not. */
export async function containerdHealth(node: NodeInstance): Promise<string | undefined> {
  try {
    await run('ctr', ['--address', node.paths.containerdSocket, 'version'], { timeout: 5_000 });
    return undefined;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim() ?? (e as Error).message;
    return `${node.cluster}: containerd at ${node.paths.containerdSocket} does not answer: ${stderr.slice(0, 200)}`;
  }
}
