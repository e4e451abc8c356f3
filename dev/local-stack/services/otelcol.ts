import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ports } from '../config';
import type { StackPaths } from '../config';
import { ensurePortFree, portOpen, startProcess } from '../process';
import type { StackContext, StackService } from '../service';
import { goBinary } from '../toolchain';

const version = 'v0.161.0';

/** The JSON-lines files the collector writes: what the worker exported over OTLP, one batch a line. */
export function otelFiles(paths: StackPaths): { traces: string; logs: string } {
  const dir = join(paths.stateDir, 'otel');
  return { traces: join(dir, 'traces.jsonl'), logs: join(dir, 'logs.jsonl') };
}

/** Collector configuration: OTLP/HTTP on loopback in, one file per signal out. */
function config(paths: StackPaths): string {
  const files = otelFiles(paths);
  return JSON.stringify({
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${ports.otlpHttp}` } } } },
    exporters: {
      'file/traces': { path: files.traces, format: 'json', flush_interval: '1s' },
      'file/logs': { path: files.logs, format: 'json', flush_interval: '1s' },
    },
    service: {
      telemetry: { metrics: { level: 'none' } },
      pipelines: {
        traces: { receivers: ['otlp'], exporters: ['file/traces'] },
        logs: { receivers: ['otlp'], exporters: ['file/logs'] },
      },
    },
  });
}

async function binary(ctx: StackContext): Promise<string> {
  return goBinary(ctx, {
    name: 'otelcol-rotor',
    version,
    moduleDir: fileURLToPath(new URL('../../go/otelcol', import.meta.url)),
    pkg: '.',
  });
}

/**
 * An OpenTelemetry Collector built with the Collector Builder from Go modules (dev/go/otelcol: only
 * the OTLP receiver and the file exporter). The worker sends its audit trail and rotation traces here
 * (OTEL_EXPORTER_OTLP_ENDPOINT); tests read the files. A SIEM's collector takes its place in production.
 */
export const otelcol: StackService = {
  name: 'otelcol',
  version,
  dependsOn: [],
  address: `http://127.0.0.1:${ports.otlpHttp} (OTLP/HTTP)`,
  async install(ctx) {
    await binary(ctx);
  },
  async start(ctx) {
    await ensurePortFree(ports.otlpHttp, 'otelcol');
    const dir = join(ctx.paths.stateDir, 'otel');
    mkdirSync(dir, { recursive: true });
    // JSON is YAML: the collector reads it as its config file.
    const file = join(dir, 'config.yaml');
    writeFileSync(file, config(ctx.paths));
    startProcess(ctx, 'otelcol', await binary(ctx), ['--config', `file:${file}`]);
  },
  async health() {
    return (await portOpen(ports.otlpHttp)) ? undefined : `OTLP/HTTP port ${ports.otlpHttp} not accepting connections`;
  },
};
