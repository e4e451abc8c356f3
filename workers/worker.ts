import { NativeConnection, Worker } from '@temporalio/worker';
import type { InjectedSinks } from '@temporalio/worker';
import type { RotorSinks } from '../workflows/audit';
import type { RotationActivities } from '../activities/index';
import { workerDataConverter } from '../adapters/temporal/data-converter';
import { workflowsPath } from './bundle';
import { RedactingActivityInbound } from './redacting-interceptor';

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
}

/** A worker that runs rotor's workflows and the given activities on one task queue. */
export function createRotorWorker(o: RotorWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundlePath ? { workflowBundle: { codePath: o.workflowBundlePath } } : { workflowsPath }),
    activities: o.activities,
    dataConverter: workerDataConverter(o.env),
    sinks: o.sinks ?? { audit: { record: { fn: () => undefined } } },
    // Every activity error is redacted of the values the activity touched, whatever adapter threw it.
    interceptors: { activity: [() => ({ inbound: new RedactingActivityInbound() })] },
  });
}

export async function connectWorker(address: string): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address });
  } catch (e) {
    throw new Error(`worker cannot reach Temporal at ${address} (TEMPORAL_ADDRESS): ${(e as Error).message}`);
  }
}
