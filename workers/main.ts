/**
 * rotor worker entry point: runs the rotation workflows and activities on ROTOR_TASK_QUEUE
 * (default `rotor`) against TEMPORAL_ADDRESS, with clients from the standard environment.
 */
import { createActivities } from '../activities/index';
import { depsFromEnv } from './deps';
import { createLogger, installRuntimeLogger } from './logger';
import { temporalSettings } from './temporal-connection';
import { connectWorker, createRotorWorker } from './worker';

async function main(): Promise<void> {
  const logger = createLogger();
  installRuntimeLogger(logger);
  const settings = temporalSettings();
  const connection = await connectWorker(settings.address);
  const worker = await createRotorWorker({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities(depsFromEnv()),
  });
  logger.info({ taskQueue: settings.taskQueue, address: settings.address }, 'rotor worker started');
  await worker.run();
  await connection.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`rotor worker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
