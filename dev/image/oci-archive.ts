/**
 * Reproducible OCI image archives without a Docker daemon or a registry: directories become
 * layers through GNU tar with every varying field fixed (names sorted, mtime 0, numeric owner 0),
 * and the layout (blobs, index.json, oci-layout) is tarred the same way, so the same files always
 * give the same digests. containerd imports the result (`ctr images import`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** GNU tar flags that make an archive depend on the files' names, modes and contents only. */
const fixedTar = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu'];

/** Tars `dir` (its contents, as `./…`) into `out` reproducibly. */
export async function reproducibleTar(dir: string, out: string): Promise<void> {
  await run('tar', [...fixedTar, '-C', dir, '-cf', out, '.'], { maxBuffer: 16 * 1024 * 1024 });
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** The runtime part of an image config (OCI image spec `config`). */
export interface ImageProcess {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  User?: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

/** One image of an archive: its name (`registry/repo:tag`), its layers (root file system directories, lowest first) and its process. */
export interface ImageSpec {
  ref: string;
  layers: string[];
  process: ImageProcess;
}

/** An OCI archive and the manifest digest of each image name in it. */
export interface ImageArchive {
  file: string;
  digests: Record<string, string>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function blob(layout: string, mediaType: string, data: Buffer): Descriptor {
  const hex = sha256(data);
  writeFileSync(join(layout, 'blobs', 'sha256', hex), data);
  return { mediaType, digest: `sha256:${hex}`, size: data.length };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * Writes an OCI archive holding `images` (layers shared between images are stored once) to
 * `file`, using `work` as scratch space. Layers are uncompressed tars, so a layer's digest is also
 * its diff id. Returns each image's manifest digest.
 */
export async function writeOciArchive(images: ImageSpec[], file: string, work: string): Promise<ImageArchive> {
  const layout = join(work, 'oci');
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers = new Map<string, Descriptor>();
  for (const dir of new Set(images.flatMap((i) => i.layers))) {
    const tar = join(work, 'layer.tar');
    await reproducibleTar(dir, tar);
    layers.set(dir, blob(layout, 'application/vnd.oci.image.layer.v1.tar', readFileSync(tar)));
    rmSync(tar);
  }
  const manifests = images.map((image) => {
    const own = image.layers.map((d) => layers.get(d) as Descriptor);
    const config = blob(
      layout,
      'application/vnd.oci.image.config.v1+json',
      json({
        architecture: 'amd64',
        os: 'linux',
        config: image.process,
        rootfs: { type: 'layers', diff_ids: own.map((l) => l.digest) },
      }),
    );
    const manifest = blob(
      layout,
      'application/vnd.oci.image.manifest.v1+json',
      json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: own }),
    );
    const tag = image.ref.slice(image.ref.lastIndexOf(':') + 1);
    return {
      ...manifest,
      annotations: { 'io.containerd.image.name': image.ref, 'org.opencontainers.image.ref.name': tag },
    };
  });
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  mkdirSync(dirname(file), { recursive: true });
  // Written beside and renamed, so a reader never sees half an archive.
  await reproducibleTar(layout, `${file}.tmp`);
  renameSync(`${file}.tmp`, file);
  rmSync(layout, { recursive: true, force: true });
  return { file, digests: Object.fromEntries(manifests.map((m) => [image(m), m.digest])) };
}

const image = (m: { annotations: Record<string, string> }) => m.annotations['io.containerd.image.name'] ?? '';

/** The shared libraries (and the loader) a dynamic binary needs, from `ldd`. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  return [...stdout.matchAll(/(\/[^\s]+) \(0x/g)].map((m) => m[1] ?? '').filter(Boolean);
}
