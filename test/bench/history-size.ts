import type { temporal } from '@temporalio/proto';
// Default import: the package is CommonJS, whose named exports Node's ESM loader does not see.
import proto from '@temporalio/proto';
import { findPayloads, toHistoryJson } from '../helpers/history';

const History = proto.temporal.api.history.v1.History;

/** A history's size as the server stores and limits it: events, proto bytes, and its largest payload's bytes. */
export function historySize(history: temporal.api.history.v1.IHistory): {
  events: number;
  bytes: number;
  largest: number;
} {
  const bytes = History.encode(History.fromObject(history)).finish().length;
  const largest = Math.max(
    0,
    ...findPayloads(toHistoryJson(history)).map(({ payload }) => Buffer.from(payload.data ?? '', 'base64').length),
  );
  return { events: history.events?.length ?? 0, bytes, largest };
}
