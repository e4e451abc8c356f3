import { randomBytes, randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { rotorCodec, rotorDataConverter } from '../../adapters/temporal/data-converter';
import { stackPaths } from '../../dev/local-stack/config';
import { temporalTestServer } from '../../dev/local-stack/test-server';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import { rotorSearchAttributes } from '../../core/search-attributes';
import type { Phase, RotationInput, RotationStatus } from '../../core/status';
import { statusQuery } from '../../workflows/definitions';
import type { AuditEvent } from '../../workflows/audit';
import { workflowBundleFromEnv } from '../../workers/bundle';
import { createRotorWorker } from '../../workers/worker';
import type { RotationActivities } from '../../activities/index';
import { fakeStores } from './fake-store';
import { recordHistory } from './history-recorder';
import type { FakeStore } from './fake-store';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The store the playbooks of these tests name; the fake store activities stand for it. */
export const fakeStoreRef = { type: 'aws' as const, secretId: 'rotor-test/time-skipping' };

/** Payloads of these tests are encrypted as in production, with a key made for the test run. */
const codecEnv = { ROTOR_CODEC_KEYS: `time-skipping=${randomBytes(32).toString('base64')}` };

/**
 * Temporal's time-skipping test server (dev/local-stack/test-server.ts, fetched once into the cache)
 * with rotor's search attributes. A server that cannot be fetched or started fails the test file.
 */
async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const path = await temporalTestServer({
    paths: stackPaths(),
    log: (line) => process.stderr.write(`[test-server] ${line}\n`),
  });
  const env = await startedWithin5s(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path } },
      client: { dataConverter: rotorDataConverter(codecEnv) },
    }),
  );
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(Object.keys(rotorSearchAttributes).map((name) => [name, keyword])),
  });
  return env;
}

/**
 * The SDK gives the server 5 s to open its port, which a JVM on a loaded 2-core machine can miss:
 * up to three tries at that one failure, then it fails the file as before.
 */
async function startedWithin5s<T>(start: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= tries || !/did not start within/.test(String(e))) throw e;
      process.stderr.write(`[test-server] start ${attempt} of ${tries} too slow, trying again: ${String(e)}\n`);
    }
  }
}

/** One rotation on the time-skipping server: its handle, its fake store and its audit trail. */
export interface TimedRotation {
  h: WorkflowHandle;
  store: FakeStore;
  audit: AuditEvent[];
}

/**
 * For one test file: the time-skipping server and one rotor worker (the production worker's
 * options: bundle, codec, failure converter, redaction) whose store activities are fakes per rotation.
 * The worker bundles the workflows once per file; each rotation gets its own secret and store.
 * `activities` replace or add activities of the worker (another admission, the identity checks).
 */
export function useTimeSkipping(opts: { activities?: Partial<RotationActivities> } = {}) {
  let env: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const taskQueue = `ts-${randomUUID()}`;
  const stores = fakeStores(() => server().currentTimeMs());
  const audits = new Map<string, AuditEvent[]>();
  const auditOf = (workflowId: string) => audits.get(workflowId) ?? audits.set(workflowId, []).get(workflowId) ?? [];
  /** A rotor worker on `queue` of this server running both, or only workflows (polling no activity), or only activities. */
  const makeWorker = (
    connection: TestWorkflowEnvironment['nativeConnection'],
    queue: string,
    runs: 'both' | 'workflows' | 'activities' = 'both',
    afterEach?: (activity: string) => void,
  ) =>
    createRotorWorker({
      connection,
      namespace: 'default',
      taskQueue: queue,
      activities:
        runs === 'workflows'
          ? {}
          : afterEach
            ? observed({ ...stores.activities, ...opts.activities }, afterEach)
            : { ...stores.activities, ...opts.activities },
      activitiesOnly: runs === 'activities',
      env: codecEnv,
      // Built once per run by test/global-setup.ts; bundled here when the variable is unset.
      workflowBundlePath: workflowBundleFromEnv(),
      sinks: {
        audit: {
          record: { fn: (info, e: AuditEvent) => void auditOf(info.workflowId).push(e), callDuringReplay: false },
        },
      },
    });
  beforeAll(async () => {
    env = await startTimeSkipping();
    worker = await makeWorker(env.nativeConnection, taskQueue);
    running = worker.run();
  });
  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await env?.teardown();
  });
  const server = (): TestWorkflowEnvironment => {
    if (!env) throw new Error('the time-skipping server is not running (beforeAll failed)');
    return env;
  };
  return {
    server,
    taskQueue,
    /** The fake store of the rotation with this workflow id (made on first use: set it up before the run starts). */
    storeOf: (workflowId: string) => stores.of(workflowId),
    /** The audit trail of the rotation with this workflow id. */
    auditOf,
    /**
     * Starts a rotation of `playbook` as `rotor rotate` would; `input` overrides (a schedule's
     * trigger, an emergency); `prepare` sets up its fake store before the run starts; `queue`, the
     * task queue (this file's worker's by default).
     */
    async start(
      playbook: Playbook,
      input: Partial<RotationInput> = {},
      prepare: (store: FakeStore) => void = () => undefined,
      queue: string = taskQueue,
    ): Promise<TimedRotation> {
      const workflowId = rotationWorkflowId(playbook.spec.secret.name);
      // Set up before the run starts: its first activities run at once.
      const store = stores.of(workflowId);
      prepare(store);
      const args: [RotationInput] = [{ playbook, trigger: 'manual', requestedBy: 'test', ...input }];
      const h = await server().client.workflow.start('rotationWorkflow', { taskQueue: queue, workflowId, args });
      return { h, store, audit: auditOf(workflowId) };
    },
    /**
     * Another worker on task queue `queue` running only `runs` (workflows: the queue's activities
     * wait for a worker; activities: with the fake stores, `afterEach` told of each that returned),
     * on a connection of its own (one
     * connection may not hold two workers of one queue); run it, shut it down, then `close` it.
     */
    async worker(
      queue: string,
      runs: 'workflows' | 'activities',
      afterEach?: (activity: string) => void,
    ): Promise<{ worker: Worker; close: () => Promise<void> }> {
      const connection = await NativeConnection.connect({ address: server().address });
      try {
        return { worker: await makeWorker(connection, queue, runs, afterEach), close: () => connection.close() };
      } catch (e) {
        await connection.close();
        throw e;
      }
    },
    /** Saves the finished run (with its children if asked) as the replay fixture `name` when recording (test/histories/record.ts). */
    record: (h: WorkflowHandle, name: string, runId?: string, opts: { children?: boolean } = {}) =>
      recordHistory(h, name, rotorCodec(codecEnv), { ...(runId ? { runId } : {}), ...opts }),
  };
}

/** `activities`, telling `afterEach` the name of each that returned (before the worker reports it). */
function observed<A extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: A,
  afterEach: (activity: string) => void,
): A {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities))
    wrapped[name] = async (...args) => {
      const result = await fn(...args);
      afterEach(name);
      return result;
    };
  return wrapped as A;
}

/** The run's status query. */
export const statusOf = (h: WorkflowHandle) => h.query<RotationStatus>(statusQuery);

/**
 * Polls in real time until the run's status satisfies `ok` (the server's clock stands still
 * meanwhile: time skips only while a test awaits a result or sleeps).
 */
export async function until(h: WorkflowHandle, what: string, ok: (s: RotationStatus) => boolean): Promise<void> {
  let last: RotationStatus | undefined;
  for (let i = 0; i < 300; i++) {
    // Before its first workflow task the run has no query handler yet.
    last = await statusOf(h).catch(() => undefined);
    if (last && ok(last)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the rotation never reached ${what}; last phase ${last?.phase ?? '(no status)'}`);
}

/** Until the run is in `phase`. */
export const reach = (h: WorkflowHandle, phase: Phase) => until(h, `phase ${phase}`, (s) => s.phase === phase);

/** The failure a run ended with (its cause, as the CLI shows it); fails the test when the run did not fail. */
export async function failureOf(h: WorkflowHandle): Promise<ApplicationFailure> {
  const error = await h.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof WorkflowFailedError))
    throw new Error(`expected the run to fail; it ended with ${String(error)}`);
  return error.cause as ApplicationFailure;
}
