import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../config';
import { ensurePortFree, portOpen, startProcess } from '../process';
import type { StackService } from '../service';
import { goBinary, onPathAtVersion } from '../toolchain';
import { rotorSearchAttributes } from '../../../core/search-attributes';

const version = 'v1.5.1';

async function binary(ctx: Parameters<StackService['install']>[0]): Promise<string> {
  return (
    onPathAtVersion('temporal', ['--version'], version) ??
    (await goBinary(ctx, { name: 'temporal', version, pkg: 'github.com/temporalio/cli/cmd/temporal' }))
  );
}

/**
 * Temporal CLI dev server (server + Web UI) with a SQLite file, so workflows survive a restart of
 * the stack, and rotor's search attributes registered at start.
 */
export const temporal: StackService = {
  name: 'temporal',
  version,
  dependsOn: [],
  address: `127.0.0.1:${ports.temporal} (UI http://127.0.0.1:${ports.temporalUi})`,
  async install(ctx) {
    await binary(ctx);
  },
  async start(ctx) {
    for (const p of [ports.temporal, ports.temporalUi, ports.temporalMetrics]) await ensurePortFree(p, 'temporal');
    const dir = join(ctx.paths.stateDir, 'temporal');
    mkdirSync(dir, { recursive: true });
    const attrs = Object.entries(rotorSearchAttributes).flatMap(([name, type]) => [
      '--search-attribute',
      `${name}=${type}`,
    ]);
    startProcess(ctx, 'temporal', await binary(ctx), [
      'server',
      'start-dev',
      '--db-filename',
      join(dir, 'temporal.db'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(ports.temporal),
      '--ui-port',
      String(ports.temporalUi),
      '--metrics-port',
      String(ports.temporalMetrics),
      '--ui-codec-endpoint',
      `http://127.0.0.1:${ports.codecServer}`,
      '--log-level',
      'warn',
      ...attrs,
    ]);
  },
  async health() {
    if (!(await portOpen(ports.temporal))) return `frontend port ${ports.temporal} not accepting connections`;
    const res = await fetch(`http://127.0.0.1:${ports.temporalUi}/api/v1/namespaces/default`).catch(() => undefined);
    if (!res?.ok) return `Web UI on port ${ports.temporalUi} does not serve the default namespace yet`;
    return undefined;
  },
};
