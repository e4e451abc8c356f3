/**
 * The worker image archive is reproducible and holds what the worker needs, and nothing to run a
 * shell with: two builds from empty caches give the same manifest digest, a third call is served
 * from the cache, and the image's config and files are read back from the archive itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorkerImage } from './worker-image';

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'rotor-image-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A blob of the OCI layout unpacked at `dir`, parsed as JSON. */
const blobJson = <T>(dir: string, digest: string): T =>
  JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8')) as T;

describe('the worker image archive', () => {
  it('has the same digest when built twice from the same inputs, and comes from the cache the third time', async () => {
    const [a, b] = [scratch(), scratch()];
    const first = await buildWorkerImage(a);
    const second = await buildWorkerImage(b);
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(false);
    expect(second.digest).toBe(first.digest);
    expect(second.ref).toBe(first.ref);
    expect(readFileSync(second.file).equals(readFileSync(first.file))).toBe(true);
    const again = await buildWorkerImage(a);
    expect(again).toEqual({ ...first, cached: true });

    // Its config and files, read back from the archive.
    const oci = scratch();
    execFileSync('tar', ['-xf', first.file, '-C', oci]);
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests.map((m) => [m.digest, m.annotations['io.containerd.image.name']])).toEqual([
      [first.digest, first.ref],
    ]);
    const manifest = blobJson<{ config: { digest: string }; layers: { digest: string }[] }>(oci, first.digest);
    const config = blobJson<{ config: { User: string; Entrypoint: string[]; Env: string[] } }>(
      oci,
      manifest.config.digest,
    ).config;
    expect(config.User).toBe('65532:65532');
    expect(config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/worker.mjs']);
    expect(config.Env).toContain('ROTOR_WORKFLOW_BUNDLE=/app/workflows.js');
    const files = manifest.layers.flatMap((l) =>
      execFileSync('tar', ['-tvf', join(oci, 'blobs', 'sha256', l.digest.slice('sha256:'.length))], {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      })
        .trim()
        .split('\n'),
    );
    const names = files.map((f) => f.split(/\s+/).slice(5).join(' ').replace(/^\.\//, ''));
    for (const needed of [
      'usr/local/bin/node',
      'app/worker.mjs',
      'app/workflow-worker-thread.js',
      'app/failure-converter.cjs',
      'app/workflows.js',
      'app/mappings.wasm',
      'app/releases/x86_64-unknown-linux-gnu/index.node',
      'etc/passwd',
    ])
      expect(names).toContain(needed);
    // No shell, no busybox; every entry owned by root, dated 1970 (mtime 0).
    expect(names.filter((n) => /(^|\/)(sh|bash|busybox)$/.test(n))).toEqual([]);
    expect(files.every((f) => f.split(/\s+/)[1] === '0/0')).toBe(true);
    expect(files.every((f) => f.split(/\s+/)[3] === '1970-01-01')).toBe(true);
    console.info(`worker image ${first.ref}: ${(first.size / 2 ** 20).toFixed(1)} MiB, digest ${first.digest}`);
  }, 900_000);
});
