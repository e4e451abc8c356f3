import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { nodeImages } from '../config';
import type { StackContext } from '../service';
import { sharedLibraries, writeOciArchive } from '../../image/oci-archive';
import type { ImageArchive } from '../../image/oci-archive';
import { ctr } from './containerd';
import type { NodeInstance } from './instance';

const run = promisify(execFile);

/** Debian's statically linked busybox (package busybox-static). */
const busybox = '/bin/busybox';
const envPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Newest Debian psql binary (the postgres service installs the server, which pulls in the client). */
function psqlBinary(): string | undefined {
  const found = ['17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin/psql`).find(existsSync);
  return found;
}

/** Debian's redis-cli (package redis-tools, which the redis service's redis-server pulls in). */
export const redisCli = '/usr/bin/redis-cli';

/** Copies a dynamic binary to `to` under `dir`, with the shared libraries it needs at their own paths. */
async function copyWithLibraries(dir: string, binary: string, to: string): Promise<void> {
  copyFileSync(binary, join(dir, to));
  for (const lib of await sharedLibraries(binary)) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(dir, lib));
  }
}

/** Debian's MariaDB client (package mariadb-client-core, pulled in by the mariadb service's server). */
const mariadbClient = '/usr/bin/mariadb';

/** The root file system of the image: busybox with its applet links, psql, redis-cli and mariadb with their libraries. */
async function stageRootfs(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const d of ['tmp', 'etc', 'usr/bin', 'var/run']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  const { stdout } = await run(busybox, ['--list']);
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) {
    symlinkSync('busybox', join(dir, 'bin', applet));
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  const psql = psqlBinary();
  if (!psql) throw new Error("node: no psql found under /usr/lib/postgresql; run 'dev/stack up postgres' first");
  await copyWithLibraries(dir, psql, 'usr/bin/psql');
  if (!existsSync(redisCli)) throw new Error(`node: no ${redisCli}; run 'dev/stack up node' to install redis-tools`);
  await copyWithLibraries(dir, redisCli, 'usr/bin/redis-cli');
  if (!existsSync(mariadbClient))
    throw new Error(`node: no MariaDB client at ${mariadbClient}; run 'dev/stack up mariadb' first`);
  await copyWithLibraries(dir, mariadbClient, 'usr/bin/mariadb');
}

/**
 * Builds an OCI image archive holding the pause and tools images, both one layer (the same one),
 * from the host's busybox-static, psql, redis-cli and mariadb client. The archive is reproducible
 * (dev/image/oci-archive.ts), so the same packages always give the same digests and re-imports change nothing.
 */
export async function buildImageArchive(ctx: StackContext): Promise<ImageArchive> {
  const base = join(ctx.paths.stateDir, 'node', 'images');
  const rootfs = join(base, 'rootfs');
  await stageRootfs(rootfs);
  const images = Object.entries(nodeImages).map(([kind, ref]) => ({
    ref,
    layers: [rootfs],
    process: {
      Env: [envPath],
      ...(kind === 'pause' ? { Entrypoint: ['/bin/sleep', '2147483647'] } : { Cmd: ['/bin/sh'] }),
    },
  }));
  return writeOciArchive(images, join(base, 'images.tar'), base);
}

/** Imports the images into the node's containerd unless it already has them at these digests. */
export async function importImages(node: NodeInstance, archive: ImageArchive): Promise<void> {
  const listed = await ctr(node, ['images', 'ls']);
  const have = new Map(
    listed
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/))
      .map((c) => [c[0] ?? '', c[2] ?? '']),
  );
  if (Object.entries(archive.digests).every(([ref, digest]) => have.get(ref) === digest)) return;
  await ctr(node, ['images', 'import', archive.file], 300_000);
}
