/**
 * rotor worker entry point: runs the rotation workflows and activities on ROTOR_TASK_QUEUE
 * (default `rotor`) against TEMPORAL_ADDRESS, with clients from the standard environment.
 * Audit trail: JSON lines to ROTOR_AUDIT_FILE (stdout when unset), and over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Metrics: rotor's on
 * ROTOR_METRICS_PORT (default 9464, `/metrics`), the Temporal SDK's on the port after it; with
 * ROTOR_PLAYBOOK_DIR the overdue-secrets gauge is kept current. Capacity (slots, sticky cache,
 * pollers): ROTOR_MAX_CONCURRENT_ACTIVITIES, ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS,
 * ROTOR_MAX_CACHED_WORKFLOWS, ROTOR_WORKFLOW_TASK_POLLERS, ROTOR_ACTIVITY_TASK_POLLERS (workers/tuning.ts).
 * ROTOR_CONTROLLER_CONTEXT runs rotor's controller beside the worker (workers/controller/from-env.ts).
 */
import { isIP } from 'node:net';
import type { Client } from '@temporalio/client';
import { createActivities } from '../activities/index';
import { refreshOverdue } from '../inspect/overdue';
import { loadPlaybookDir } from '../adapters/playbook-files';
import { auditSinks } from './audit-sink';
import { otelAuditFromEnv } from './otel-audit';
import { RotorMetrics } from './metrics';
import { depsFromEnv } from './deps';
import { logCommandSandbox } from './command-sandbox-log';
import { vaultLogin } from '../adapters/vault-login';
import { checkVaultTls, describeVaultTls } from '../adapters/vault-tls';
import { createLogger, installRuntimeLogger } from './logger';
import { connectClient, temporalSettings } from '../adapters/temporal/connection';
import { temporalEndpoint } from '../adapters/temporal/envconfig';
import { workflowBundleFromEnv } from './bundle';
import { connectWorker, createRotorWorker } from './worker';
import { workerTuningFromEnv } from './tuning';
import { setCurrentVersion } from '../adapters/temporal/worker-deployment';
import { workerVersioningFromEnv } from './versioning';
import { healthSettingsFromEnv, serveHealth } from './health';
import { controllerFromEnv } from './controller/from-env';
import { logIdentity } from './identity-log';
import { shutdownFromEnv } from './shutdown';

/**
 * With ROTOR_PLAYBOOK_DIR set, refreshes the overdue-secrets gauge every ROTOR_OVERDUE_INTERVAL_S
 * seconds (default 300). Failures are logged and retried next round; they never stop the worker.
 */
function watchOverdue(metrics: RotorMetrics, logger: ReturnType<typeof createLogger>): () => void {
  const dir = process.env['ROTOR_PLAYBOOK_DIR'];
  if (!dir) return () => undefined;
  const every = Number(process.env['ROTOR_OVERDUE_INTERVAL_S'] ?? 300) * 1000;
  const round = async () => {
    try {
      const overdue = await refreshOverdue(metrics, await clientFor(), await loadPlaybookDir(dir));
      logger.info(
        { overdue: overdue.length },
        overdue.length ? `overdue secrets: ${overdue.join(', ')}` : 'no secret is overdue',
      );
    } catch (e) {
      logger.error({ dir }, `overdue check failed: ${(e as Error).message}`);
    }
  };
  let client: Client | undefined;
  const clientFor = async () => (client ??= await connectClient());
  void round();
  const timer = setInterval(() => void round(), every);
  return () => {
    clearInterval(timer);
    void client?.connection.close();
  };
}

/**
 * Where the metrics listen: 127.0.0.1 unless ROTOR_METRICS_HOST names another address (a pod's
 * `0.0.0.0`, so a Prometheus outside the pod can scrape it).
 */
function metricsHost(env: NodeJS.ProcessEnv = process.env): string {
  const host = env['ROTOR_METRICS_HOST'] || '127.0.0.1';
  if (isIP(host) === 0) throw new Error(`ROTOR_METRICS_HOST=${JSON.stringify(host)}: not an IP address (e.g. 0.0.0.0)`);
  return host;
}

async function main(): Promise<void> {
  const logger = createLogger();
  const metricsPort = Number(process.env['ROTOR_METRICS_PORT'] ?? 9464);
  // Port 0 turns both metrics endpoints off (several workers on one machine, e.g. in tests).
  installRuntimeLogger(logger, metricsPort ? `${metricsHost()}:${metricsPort + 1}` : undefined);
  const settings = temporalSettings();
  // Bad tuning fails here, before anything is started or connected.
  const tuning = workerTuningFromEnv();
  const shutdown = shutdownFromEnv();
  const health = healthSettingsFromEnv();
  const metrics = new RotorMetrics();
  // Rotations matter more than their metrics: a taken port is logged loudly, not fatal.
  const server = metricsPort
    ? await metrics.serve(metricsPort, metricsHost()).catch((e: Error) => {
        logger.error({ metricsPort }, `metrics endpoint disabled: ${e.message}`);
        return undefined;
      })
    : undefined;
  const deps = depsFromEnv();
  const workflowBundlePath = workflowBundleFromEnv();
  // Malformed versioning settings stop the worker here, naming the variable.
  const deployment = workerVersioningFromEnv(process.env, workflowBundlePath);
  // Histories name the worker that ran each task; pods sharing a node's hostname need their own name.
  const identity = process.env['ROTOR_WORKER_IDENTITY'] || undefined;
  // A Vault certificate the worker cannot verify stops it here, naming VAULT_CACERT, before any work.
  await checkVaultTls(deps.vault);
  // AppRole (VAULT_ROLE_ID): log in before polling, and keep the token renewed while running.
  const vaultSession = await vaultLogin([deps.vault]);
  const connection = await connectWorker();
  const otel = otelAuditFromEnv();
  const worker = await createRotorWorker({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities(deps),
    sinks: auditSinks({ file: process.env['ROTOR_AUDIT_FILE'], metrics, otel }),
    workflowBundlePath,
    tuning,
    shutdown,
    ...(deployment ? { deployment } : {}),
    ...(identity ? { identity } : {}),
  });
  await logCommandSandbox(deps.policy, logger);
  logIdentity(deps.policy, logger);
  // Probes: live until the worker fails or stops, ready only while it polls (a drain is not ready).
  const healthServer = health ? await serveHealth(health, () => worker.getState()) : undefined;
  const stopOverdue = watchOverdue(metrics, logger);
  logger.info(
    {
      taskQueue: settings.taskQueue,
      identity: worker.options.identity,
      temporal: temporalEndpoint().describe,
      vault: describeVaultTls(process.env, deps.vault.endpoint),
      metricsPort,
      ...(health ? { health: `${health.host}:${health.port}` } : {}),
      shutdownGraceSeconds: shutdown.shutdownGraceTime / 1000,
      ...(deployment ? { deployment: deployment.version } : {}),
      ...tuning,
    },
    'rotor worker started',
  );
  const running = worker.run();
  // ROTOR_CONTROLLER_CONTEXT: rotations requested through the management cluster's apiserver.
  const controller = await controllerFromEnv((m) => logger.info({}, m));
  // ROTOR_SET_CURRENT_VERSION=1: this build takes new rotations as soon as it polls (a single
  // worker, the local stack); a fleet's rollout sets the version once its workers are ready.
  if (deployment && process.env['ROTOR_SET_CURRENT_VERSION'] === '1') {
    const client = await connectClient();
    await setCurrentVersion(client, deployment.version);
    await client.connection.close();
    logger.info({ deployment: deployment.version }, 'this build is the current version of its deployment');
  }
  await running;
  await controller?.stop();
  stopOverdue();
  vaultSession?.stop();
  // What is still buffered goes out before the process ends.
  await otel?.shutdown().catch((e: Error) => logger.error({}, `OTLP export at shutdown failed: ${e.message}`));
  server?.close();
  healthServer?.close();
  await connection.close();
  logger.info({}, 'rotor worker stopped');
}

main().catch((e: unknown) => {
  process.stderr.write(`rotor worker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
