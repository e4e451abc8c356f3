/**
 * `npm test`: brings the local stack up when it is down (cached builds; the first run on a machine
 * builds Temporal, Vault, kube-apiserver, etcd and ESO from Go modules) and fetches Temporal's
 * time-skipping test server (dev/local-stack/test-server.ts), then typechecks, lints and
 * runs every vitest project. A load error, a failing hook or an undeclared skip fails it (dev/vitest-run.ts).
 * Ends with one summary line `tests: N passed, N failed, N skipped (declared)`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stackPaths } from './local-stack/config';
import { stackUp } from './local-stack/manager';
import { temporalTestServer } from './local-stack/test-server';
import { printVerdict, runVitest } from './vitest-run';

function step(name: string, cmd: string, args: string[]): boolean {
  process.stderr.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  return r.status === 0;
}

/** The browser test drives Debian's Chromium; install it when missing (as root, via apt). */
function ensureChromium(): void {
  const path = process.env['ROTOR_CHROMIUM'] ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `Chromium missing at ${path}: install Debian's 'chromium' package (the browser test will fail)\n`,
    );
    return;
  }
  process.stderr.write('installing Chromium from Debian packages for the browser test\n');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  ensureChromium();
  const ctx = { paths: stackPaths(), log: (l: string) => process.stderr.write(`[stack] ${l}\n`) };
  await stackUp(ctx, []);
  // The workflow tests' time-skipping server (Java, from Maven Central): fetched once, like the stack's builds.
  await temporalTestServer(ctx);
  process.stderr.write(`stack ready after ${Math.round((Date.now() - started) / 1000)}s\n`);
  const typecheck = step('typecheck', 'npx', ['tsc', '--noEmit']);
  const lint = step('lint', 'npx', ['eslint', '.']) && step('format', 'npx', ['prettier', '--check', '.']);
  process.stderr.write('\n== tests: vitest run (JSON report judged by dev/test-verdict.ts)\n');
  const verdict = await runVitest(process.argv.slice(2));
  if (!verdict) {
    process.stderr.write('vitest wrote no report: it crashed before running tests\n');
    return 1;
  }
  if (!typecheck) process.stderr.write('typecheck failed (counted as one failure)\n');
  if (!lint)
    process.stderr.write('lint or format check failed (counted as one failure; `npm run format` fixes formatting)\n');
  return printVerdict(verdict, (typecheck ? 0 : 1) + (lint ? 0 : 1)) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`npm test: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
