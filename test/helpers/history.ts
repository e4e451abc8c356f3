import { createRequire } from 'node:module';
import type { PayloadCodec } from '@temporalio/common';
import type { History, JSONPayload } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

/*
 * Own proto-JSON conversion instead of @temporalio/common's historyToJSON/historyFromJSON: those
 * load protojson from @temporalio/common's copy of protobufjs, and its `instanceof Type` check
 * fails on the root built by @temporalio/proto's copy whenever npm does not hoist one shared
 * protobufjs 8 (here @grpc/proto-loader holds protobufjs 7 at the top level). protojson from the
 * copy that @temporalio/proto itself resolves always matches the root.
 */
interface ProtoType {
  fromObject(o: unknown): unknown;
}
interface ProtoJson {
  toJson(type: ProtoType, message: unknown): unknown;
  fromJson(type: ProtoType, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
const requireFromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): ProtoType };
const historyType = root.lookupType('temporal.api.history.v1.History');
const payloadType = root.lookupType('temporal.api.common.v1.Payload');

/** A history in Temporal's proto-JSON form (the format of `temporal workflow show -o json` and the UI's download). */
export type HistoryJson = { events: Record<string, unknown>[] };

/** A payload found in a history, with the JSON path it was found at. */
export interface FoundPayload {
  path: string;
  payload: JSONPayload;
}

/** Proto-JSON of a fetched history, as an object. */
export function toHistoryJson(history: History): HistoryJson {
  return protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)) as HistoryJson;
}

/** A History message from proto-JSON, as `Worker.runReplayHistory` takes it. */
export function fromHistoryJson(json: HistoryJson): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}

function payloadFromJson(p: JSONPayload): proto.temporal.api.common.v1.IPayload {
  return protojson.fromJson(payloadType, p) as proto.temporal.api.common.v1.IPayload;
}

function payloadToJson(p: proto.temporal.api.common.v1.IPayload): JSONPayload {
  return protojson.toJson(payloadType, proto.temporal.api.common.v1.Payload.fromObject(p)) as JSONPayload;
}

// A proto-JSON Payload: only metadata (bytes map), data and external-payload details, nothing else.
function isPayload(node: unknown): node is JSONPayload {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
  const keys = Object.keys(node);
  const meta = (node as { metadata?: unknown }).metadata;
  return (
    keys.includes('metadata') &&
    keys.every((k) => k === 'metadata' || k === 'data' || k === 'externalPayloads') &&
    typeof meta === 'object' &&
    meta !== null &&
    Object.values(meta).every((v) => typeof v === 'string')
  );
}

/** Every payload in a proto-JSON tree: inputs, results, headers, search attributes, failure attributes, user metadata. */
export function findPayloads(node: unknown, path = '$'): FoundPayload[] {
  if (isPayload(node)) return [{ path, payload: node }];
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) => findPayloads(v, `${path}.${k}`));
}

/** A copy of the tree with every payload replaced by `fn(payload, path)`. */
export async function mapPayloads<T>(
  node: T,
  fn: (p: JSONPayload, path: string) => Promise<JSONPayload>,
  path = '$',
): Promise<T> {
  if (isPayload(node)) return (await fn(node, path)) as T;
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node))
    return (await Promise.all(node.map((v, i) => mapPayloads(v as unknown, fn, `${path}.${i}`)))) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = await mapPayloads(v as unknown, fn, `${path}.${k}`);
  return out as T;
}

/** Runs one proto-JSON payload through a codec's decode. */
export async function decodePayload(codec: PayloadCodec, p: JSONPayload): Promise<JSONPayload> {
  const [decoded] = await codec.decode([payloadFromJson(p)]);
  if (!decoded) throw new Error('codec returned no payload');
  return payloadToJson(decoded);
}

/** The payload's `encoding` metadata as text. */
export function encodingOf(p: JSONPayload): string {
  const e = p.metadata?.['encoding'];
  return e ? Buffer.from(e, 'base64').toString('utf8') : '';
}

/** The payload's data bytes as UTF-8 text (JSON for json/plain payloads). */
export function dataText(p: JSONPayload): string {
  return p.data ? Buffer.from(p.data, 'base64').toString('utf8') : '';
}

/** A failure as history JSON has it: the worker moves its message into `encodedAttributes`. */
interface FailureJson {
  message?: string;
  encodedAttributes?: JSONPayload;
}

/** A failure's message: from its `encodedAttributes` once decoded (json/plain), else as recorded. */
export function failureMessage(f: FailureJson): string | undefined {
  if (f.encodedAttributes && encodingOf(f.encodedAttributes) === 'json/plain')
    return (JSON.parse(dataText(f.encodedAttributes)) as { message?: string }).message;
  return f.message;
}

/** Activity type of each ActivityTaskScheduled event, by event id. */
function scheduledTypes(h: HistoryJson): Map<string, string> {
  const byId = new Map<string, string>();
  for (const e of h.events) {
    const a = e['activityTaskScheduledEventAttributes'] as { activityType?: { name?: string } } | undefined;
    if (a) byId.set(String(e['eventId']), a.activityType?.name ?? '?');
  }
  return byId;
}

/** Per activity type: how often it was scheduled, completed, failed, timed out, and its highest attempt. */
export function activityCounts(
  h: HistoryJson,
): Record<string, { scheduled: number; completed: number; failed: number; timedOut: number; maxAttempt: number }> {
  const types = scheduledTypes(h);
  const counts: ReturnType<typeof activityCounts> = {};
  const entry = (type: string) =>
    (counts[type] ??= { scheduled: 0, completed: 0, failed: 0, timedOut: 0, maxAttempt: 0 });
  for (const type of types.values()) entry(type).scheduled++;
  const kinds = {
    activityTaskCompletedEventAttributes: 'completed',
    activityTaskFailedEventAttributes: 'failed',
    activityTaskTimedOutEventAttributes: 'timedOut',
  } as const;
  for (const e of h.events) {
    for (const [attr, kind] of Object.entries(kinds)) {
      const a = e[attr] as { scheduledEventId?: string } | undefined;
      if (a) entry(types.get(String(a.scheduledEventId)) ?? '?')[kind]++;
    }
    const started = e['activityTaskStartedEventAttributes'] as
      { scheduledEventId?: string; attempt?: number } | undefined;
    if (started) {
      const c = entry(types.get(String(started.scheduledEventId)) ?? '?');
      c.maxAttempt = Math.max(c.maxAttempt, started.attempt ?? 1);
    }
  }
  return counts;
}

/**
 * The attempt of each activity of `type` that the history records as started (the one that
 * closed it), with the worker's identity and, for a retry, how the attempt before it ended.
 */
export function activityStarts(
  h: HistoryJson,
  type: string,
): {
  attempt: number;
  identity: string;
  previousAttemptTimedOut: boolean;
  previousTimeout?: string;
  /** The message the previous attempt failed with (encrypted unless the history was decoded). */
  previousFailure?: string;
}[] {
  const types = scheduledTypes(h);
  return h.events.flatMap((e) => {
    const a = e['activityTaskStartedEventAttributes'] as
      | {
          scheduledEventId?: string;
          attempt?: number;
          identity?: string;
          lastFailure?: FailureJson & { timeoutFailureInfo?: { timeoutType?: string } };
        }
      | undefined;
    if (!a || types.get(String(a.scheduledEventId)) !== type) return [];
    return [
      {
        attempt: a.attempt ?? 1,
        identity: a.identity ?? '',
        previousAttemptTimedOut: a.lastFailure?.timeoutFailureInfo !== undefined,
        // e.g. TIMEOUT_TYPE_HEARTBEAT or TIMEOUT_TYPE_START_TO_CLOSE: which timeout noticed the dead attempt.
        ...(a.lastFailure?.timeoutFailureInfo?.timeoutType
          ? { previousTimeout: a.lastFailure.timeoutFailureInfo.timeoutType }
          : {}),
        ...(a.lastFailure ? { previousFailure: failureMessage(a.lastFailure) } : {}),
      },
    ];
  });
}

/** Event types in order, e.g. `EVENT_TYPE_TIMER_FIRED`. */
export function eventTypes(h: HistoryJson): string[] {
  return h.events.map((e) => String(e['eventType']));
}

/** Every worker identity the history records: of workflow tasks and of activity attempts. */
export function identitiesIn(h: HistoryJson): string[] {
  const found = h.events.flatMap((e) =>
    ['workflowTaskStartedEventAttributes', 'activityTaskStartedEventAttributes']
      .map((k) => (e[k] as { identity?: string } | undefined)?.identity)
      .filter((i): i is string => !!i),
  );
  return [...new Set(found)].sort();
}

/** The Worker Versioning build ids that completed the run's workflow tasks, in history order. */
export function buildIdsOf(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const a = e.workflowTaskCompletedEventAttributes;
    const id = a?.deploymentVersion?.buildId ?? a?.workerDeploymentVersion?.split('.').at(-1);
    return id ? [id] : [];
  });
}
