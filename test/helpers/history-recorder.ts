/**
 * Records replay fixtures from the tests that already drive each path (`test/histories/record.ts`
 * sets `ROTOR_RECORD_HISTORIES` and runs them). A test marks the run a fixture stands for; in a
 * normal test run nothing is written. Histories are saved decoded (see test/histories/README.md),
 * with every child workflow the run started (batch children, the store lock) beside it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowClient, WorkflowHandle } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { HistoryJson } from './history';
import { decodePayload, mapPayloads, toHistoryJson } from './history';

/** Where fixtures go while recording; unset in normal runs. */
export const recordDir = (): string | undefined => process.env['ROTOR_RECORD_HISTORIES'];

/** One fixture file: the history and the ids replay needs (child ids derive from the workflow id). */
export interface HistoryFixture extends HistoryJson {
  workflowId: string;
  workflowType: string;
}

async function fetchDecoded(
  client: WorkflowClient,
  workflowId: string,
  codec: PayloadCodec,
  runId?: string,
): Promise<HistoryJson> {
  const history = await client.getHandle(workflowId, runId).fetchHistory();
  return mapPayloads(toHistoryJson(history), (p) => decodePayload(codec, p));
}

const childIdsOf = (h: HistoryJson): string[] =>
  h.events.flatMap((e) => {
    const a = e['childWorkflowExecutionStartedEventAttributes'] as
      { workflowExecution?: { workflowId?: string }; workflowType?: { name?: string } } | undefined;
    return a?.workflowExecution?.workflowId ? [a.workflowExecution.workflowId] : [];
  });

const typeOf = (h: HistoryJson): string =>
  String(
    (h.events[0]?.['workflowExecutionStartedEventAttributes'] as { workflowType?: { name?: string } } | undefined)
      ?.workflowType?.name,
  );

/** Which run, and whether its children are fixtures too (every run has a store-lock child). */
export interface RecordOptions {
  /** A run other than the latest (the first run of a continued-as-new chain). */
  runId?: string;
  /** Save each child the run started as `<name>.child-<workflow type>-<n>.json`. */
  children?: boolean;
}

/** Saves the run of `h` as `<name>.json`, and its children when asked. Does nothing unless recording. */
export async function recordHistory(
  h: WorkflowHandle,
  name: string,
  codec: PayloadCodec,
  { runId, children = false }: RecordOptions = {},
): Promise<void> {
  const dir = recordDir();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const save = (file: string, workflowId: string, json: HistoryJson): void => {
    const fixture: HistoryFixture = { workflowId, workflowType: typeOf(json), ...json };
    writeFileSync(join(dir, file), `${JSON.stringify(fixture, null, 2)}\n`);
  };
  const parent = await fetchDecoded(h.client, h.workflowId, codec, runId);
  save(`${name}.json`, h.workflowId, parent);
  if (!children) return;
  const counts = new Map<string, number>();
  for (const id of childIdsOf(parent)) {
    const child = await fetchDecoded(h.client, id, codec);
    const type = typeOf(child);
    const n = (counts.get(type) ?? 0) + 1;
    counts.set(type, n);
    save(`${name}.child-${type}-${n}.json`, id, child);
  }
}
