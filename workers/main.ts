/**
 * rotor worker entry point: runs the rotation workflows and activities on ROTOR_TASK_QUEUE
 * (default `rotor`) against TEMPORAL_ADDRESS, with clients from the standard environment.
 * Audit trail: JSON lines to ROTOR_AUDIT_FILE (stdout when unset). Metrics: rotor's on
 * ROTOR_METRICS_PORT (default 9464, `/metrics`), the Temporal SDK's on the port after it.
 */
import { createActivities } from '../activities/index';
import { auditSinks } from './audit-sink';
import { RotorMetrics } from './metrics';
import { depsFromEnv } from './deps';
import { createLogger, installRuntimeLogger } from './logger';
import { temporalSettings } from './temporal-connection';
import { connectWorker, createRotorWorker } from './worker';

async function main(): Promise<void> {
  const logger = createLogger();
  const metricsPort = Number(process.env['ROTOR_METRICS_PORT'] ?? 9464);
  // Port 0 turns both metrics endpoints off (several workers on one machine, e.g. in tests).
  installRuntimeLogger(logger, metricsPort ? `127.0.0.1:${metricsPort + 1}` : undefined);
  const settings = temporalSettings();
  const metrics = new RotorMetrics();
  // Rotations matter more than their metrics: a taken port is logged loudly, not fatal.
  const server = metricsPort
    ? await metrics.serve(metricsPort).catch((e: Error) => {
        logger.error({ metricsPort }, `metrics endpoint disabled: ${e.message}`);
        return undefined;
      })
    : undefined;
  const connection = await connectWorker(settings.address);
  const worker = await createRotorWorker({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities(depsFromEnv()),
    sinks: auditSinks({ file: process.env['ROTOR_AUDIT_FILE'], metrics }),
  });
  logger.info({ taskQueue: settings.taskQueue, address: settings.address, metricsPort }, 'rotor worker started');
  await worker.run();
  server?.close();
  await connection.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`rotor worker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
