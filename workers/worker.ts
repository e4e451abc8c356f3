import { NativeConnection, Worker } from '@temporalio/worker';
import type { InjectedSinks, WorkerDeploymentOptions } from '@temporalio/worker';
import type { RotorSinks } from '../workflows/audit';
import type { RotationActivities } from '../activities/index';
import { workerDataConverter } from '../adapters/temporal/data-converter';
import { temporalEndpoint } from '../adapters/temporal/envconfig';
import { connectFailure } from '../adapters/temporal/connect-failure';
import { workflowInterceptorModules, workflowsPath } from './bundle';
import { RedactingActivityInbound } from './redacting-interceptor';
import { RefusingActivityInbound } from './refusing-interceptor';
import { ThrottleReportingActivityInbound } from './throttle-reporting';
import { defaultWorkerTuning } from './tuning';
import type { WorkerTuning } from './tuning';
import type { ShutdownSettings } from './shutdown';

export interface RotorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: RotationActivities | Record<string, (...args: never[]) => Promise<unknown>>;
  env?: NodeJS.ProcessEnv;
  /** Audit/metrics sink; without it audit events are dropped (tests that do not look at them). */
  sinks?: InjectedSinks<RotorSinks>;
  /** A bundle from `writeWorkflowBundle` of this same source; without it the worker bundles at start. */
  workflowBundlePath?: string;
  /** Runs the activities only, no workflow (a test's worker that comes and goes beside a workflow worker). */
  activitiesOnly?: boolean;
  /** Slots, cache and pollers (`workerTuningFromEnv`); rotor's defaults when absent. */
  tuning?: WorkerTuning;
  /** Worker Versioning (`workerVersioningFromEnv`): rotations pinned to this build. Off when absent. */
  deployment?: WorkerDeploymentOptions;
  /** Grace for running activities on SIGTERM (`shutdownFromEnv`); the SDK's (none) when absent. */
  shutdown?: ShutdownSettings;
  /**
   * The name histories record for this worker (ROTOR_WORKER_IDENTITY, the chart: the pod's name);
   * the SDK's `<pid>@<hostname>` when absent, which cannot tell apart pods sharing a node's hostname.
   */
  identity?: string;
}

/** A worker that runs rotor's workflows and the given activities on one task queue. */
export function createRotorWorker(o: RotorWorkerOptions): Promise<Worker> {
  const workflows = o.activitiesOnly
    ? {}
    : // A prebuilt bundle carries the workflow interceptors (writeWorkflowBundle); from source, they are added here.
      o.workflowBundlePath
      ? { workflowBundle: { codePath: o.workflowBundlePath } }
      : { workflowsPath };
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...workflows,
    activities: o.activities,
    dataConverter: workerDataConverter(o.env),
    sinks: o.sinks ?? { audit: { record: { fn: () => undefined } } },
    interceptors: {
      // Every activity error is redacted of the values the activity touched, whatever adapter threw
      // it; an input the codec refused (not encrypted with rotor's key) is refused before it runs.
      activity: [
        () => ({ inbound: new RedactingActivityInbound() }),
        () => ({ inbound: new RefusingActivityInbound() }),
        // A throttled backend is reported to the rotation's incident, if any, while the rotation retries.
        (ctx) => ({ inbound: new ThrottleReportingActivityInbound(ctx) }),
      ],
      ...(o.workflowBundlePath || o.activitiesOnly ? {} : { workflowModules: workflowInterceptorModules }),
    },
    ...(o.tuning ?? defaultWorkerTuning),
    ...(o.deployment ? { workerDeploymentOptions: o.deployment } : {}),
    ...o.shutdown,
    ...(o.identity ? { identity: o.identity } : {}),
  });
}

/** The worker's connection, with the TLS, client certificate and API key the environment configures. */
export async function connectWorker(env: NodeJS.ProcessEnv = process.env): Promise<NativeConnection> {
  const ep = temporalEndpoint(env);
  try {
    return await NativeConnection.connect({
      address: ep.address,
      tls: ep.tls,
      ...(ep.apiKey ? { apiKey: ep.apiKey } : {}),
      ...(ep.metadata ? { metadata: ep.metadata } : {}),
    });
  } catch (e) {
    throw await connectFailure('worker', ep, e);
  }
}
