import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ports } from '../config';
import { stackCodecEndpoint } from '../keys';
import { ensurePortFree, portOpen, probe, runningPid, runsWithOtherArgs, startProcess, stopProcess } from '../process';
import type { StackContext, StackService } from '../service';
import { goBinary, onPathAtVersion } from '../toolchain';
import type { GoBuild } from '../toolchain';
import { rotorSearchAttributes } from '../../../core/search-attributes';
import { drainageDynamicConfig } from '../temporal-postgres-config';

const version = 'v1.5.1';

/**
 * Server v1.29's archiver registry without its `gcloud` and `s3store` imports and `case`s, so the
 * filestore archiver is the only one left.
 */
export function withoutCloudArchivers(source: string): string {
  return source
    .replace(/\n\t"go\.temporal\.io\/server\/common\/archiver\/(gcloud|s3store)"/g, '')
    .replace(/\n\tcase (gcloud|s3store)\.URIScheme:.*?(?=\n\tcase |\n\n?\tdefault:)/gs, '');
}

/**
 * The dev server archives nothing: the S3 and Google Cloud Storage archivers (and the AWS, GCS and
 * gRPC xDS packages they pull in, a fifth of the build) leave the server's archiver registry.
 * Archival to those schemes is then refused as an unknown scheme. README in dev/go/temporal-cli.
 */
export const temporalBuild: GoBuild = {
  name: 'temporal',
  version,
  moduleDir: fileURLToPath(new URL('../../go/temporal-cli', import.meta.url)),
  pkg: 'github.com/temporalio/cli/cmd/temporal',
  patch: {
    module: 'go.temporal.io/server',
    version: 'v1.29.1',
    files: {
      'common/archiver/provider/provider.go': { edit: withoutCloudArchivers, declaredIn: import.meta.url },
    },
  },
};

/** The Temporal CLI binary (installed at this version, or built into the cache). */
export async function temporalBinary(ctx: Parameters<StackService['install']>[0]): Promise<string> {
  return onPathAtVersion('temporal', ['--version'], version) ?? (await goBinary(ctx, temporalBuild));
}

/**
 * Arguments of `temporal server start-dev` as rotor runs it: loopback, a SQLite file, rotor's
 * search attributes; without `uiPort` headless. Fault-injection tests start private servers with them.
 */
export function devServerArgs(o: {
  dbFile: string;
  port: number;
  uiPort?: number;
  httpPort?: number;
  metricsPort: number;
  codecEndpoint?: string;
}): string[] {
  const attrs = Object.entries(rotorSearchAttributes).flatMap(([name, type]) => [
    '--search-attribute',
    `${name}=${type}`,
  ]);
  return [
    'server',
    'start-dev',
    '--db-filename',
    o.dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    ...(o.uiPort ? ['--ui-port', String(o.uiPort)] : ['--headless']),
    ...(o.httpPort ? ['--http-port', String(o.httpPort)] : []),
    '--metrics-port',
    String(o.metricsPort),
    ...(o.codecEndpoint ? ['--ui-codec-endpoint', o.codecEndpoint] : []),
    '--log-level',
    'warn',
    // The dev server writes every workflow update to one SQLite file; with its default rollback
    // journal each commit waits for an fsync (about 30 ms here), and that one writer bounded every
    // rotation on the stack. WAL with synchronous=NORMAL survives a killed server (only an OS
    // crash can lose the last commits), which is what the stack needs.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    ...attrs,
    // Values are JSON: a duration is a quoted string.
    ...Object.entries(drainageDynamicConfig).flatMap(([k, v]) => [
      '--dynamic-config-value',
      `${k}=${JSON.stringify(v)}`,
    ]),
  ];
}

/** The stack's own server: its SQLite file, ports, Web UI and codec endpoint. */
function stackServerArgs(ctx: StackContext): string[] {
  return devServerArgs({
    dbFile: join(ctx.paths.stateDir, 'temporal', 'temporal.db'),
    port: ports.temporal,
    uiPort: ports.temporalUi,
    metricsPort: ports.temporalMetrics,
    codecEndpoint: stackCodecEndpoint(ctx.paths),
  });
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
    await temporalBinary(ctx);
  },
  async start(ctx) {
    const args = stackServerArgs(ctx);
    // A server started by an older checkout (other flags, e.g. dynamic config) is restarted; its
    // SQLite file keeps every workflow.
    if (runsWithOtherArgs(ctx, 'temporal', args)) {
      ctx.log("temporal: restarting with this checkout's flags");
      await stopProcess(ctx, 'temporal');
    }
    if (runningPid(ctx, 'temporal') !== undefined) return;
    for (const p of [ports.temporal, ports.temporalUi, ports.temporalMetrics]) await ensurePortFree(p, 'temporal');
    mkdirSync(join(ctx.paths.stateDir, 'temporal'), { recursive: true });
    startProcess(ctx, 'temporal', await temporalBinary(ctx), args);
  },
  async health(ctx) {
    if (runsWithOtherArgs(ctx, 'temporal', stackServerArgs(ctx)))
      return "runs with outdated flags ('dev/stack up temporal' restarts it)";
    if (!(await portOpen(ports.temporal))) return `frontend port ${ports.temporal} not accepting connections`;
    const status = await probe(`http://127.0.0.1:${ports.temporalUi}/api/v1/namespaces/default`);
    if (status !== 200) return `Web UI on port ${ports.temporalUi} does not serve the default namespace yet`;
    return undefined;
  },
};
