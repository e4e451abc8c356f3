import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { temporalBuild } from './services/temporal';
import { cacheName, declarationText, goBuildSlots } from './toolchain';

const GiB = 2 ** 30;

describe('goBuildSlots', () => {
  it('builds two at once with 16 GiB or more, one below, and honours ROTOR_GO_BUILDS', () => {
    expect(goBuildSlots({}, 24 * GiB)).toBe(2);
    expect(goBuildSlots({}, 8 * GiB)).toBe(1);
    expect(goBuildSlots({ ROTOR_GO_BUILDS: '1' }, 24 * GiB)).toBe(1);
    expect(goBuildSlots({ ROTOR_GO_BUILDS: '3' }, 8 * GiB)).toBe(3);
    // Nonsense falls back to the memory rule rather than to zero builds.
    expect(goBuildSlots({ ROTOR_GO_BUILDS: 'many' }, 24 * GiB)).toBe(2);
  });
});

describe('a patched build keys the cache on the edit as written', () => {
  it('gives the stack (tsx) and a test (vitest) the same directory for Temporal', () => {
    // The stack runs under tsx, a test's private server under vitest: they compile the edit
    // differently, and a key on its compiled text made a cold CI run build Temporal twice.
    const underTsx = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./dev/local-stack/services/temporal.ts').then(async (t) => console.log((await import('./dev/local-stack/toolchain.ts')).cacheName(t.temporalBuild)))",
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(underTsx).toMatch(/^temporal-v[\d.]+-[0-9a-f]{8}$/);
    expect(cacheName(temporalBuild)).toBe(underTsx);
  });

  it('takes the text of the declaring function, and changes when it does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-patch-key-'));
    const file = join(dir, 'edit.ts');
    const source = (body: string) =>
      `// a comment\nexport function upper(s: string): string {\n  return s.${body}();\n}\n\nexport const other = 1;\n`;
    writeFileSync(file, source('toUpperCase'));
    expect(declarationText(file, 'upper')).toBe(
      'export function upper(s: string): string {\n  return s.toUpperCase();\n}',
    );
    const build = (edit: (s: string) => string) => ({
      name: 'x',
      version: 'v1',
      pkg: 'example.com/x',
      patch: {
        module: 'example.com/y',
        version: 'v1',
        files: { 'a.go': { edit, declaredIn: pathToFileURL(file).href } },
      },
    });
    // Compiled text plays no part: two functions named `upper` key alike when the file is the same.
    const upper = (s: string) => s.toUpperCase();
    const other = { upper: (s: string) => `${s.toUpperCase()}!` };
    expect(cacheName(build(upper))).toBe(cacheName(build(other.upper)));
    const before = cacheName(build(upper));
    writeFileSync(file, source('toLowerCase'));
    expect(cacheName(build(upper))).not.toBe(before);
    expect(() => declarationText(file, 'missing')).toThrow('no top-level `export function missing(`');
    rmSync(dir, { recursive: true, force: true });
  });
});
