/**
 * Records replay fixtures from the tests that already drive each path (`test/histories/record.ts`
 * sets `ROTOR_RECORD_HISTORIES` and runs them). A test marks the run a fixture stands for; in a
 * normal test run nothing is written. Histories are saved decoded (see test/histories/README.md),
 * with every child workflow the run started (batch children, the store lock) beside it, after a
 * scan for the rotation's secret values and for any private key (test/helpers/fixture-scan.ts).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowClient, WorkflowHandle } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { rotorCodec } from '../../adapters/temporal/data-converter';
import { secretShapesIn, secretValuesIn } from './fixture-scan';
import type { HistoryJson } from './history';
import { decodePayload, mapPayloads, toHistoryJson } from './history';
import { storeValues } from './stores';
import type { TestStore } from './stores';

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
  /**
   * The rotation's secret values (the store's before and after): a history holding any of them,
   * or a secret's shape (a PEM private key), is refused and nothing of the fixture is written.
   */
  secrets?: readonly string[];
}

/** Saves the run of `h` as `<name>.json`, and its children when asked. Does nothing unless recording. */
export async function recordHistory(
  h: WorkflowHandle,
  name: string,
  codec: PayloadCodec,
  { runId, children = false, secrets = [] }: RecordOptions = {},
): Promise<void> {
  const dir = recordDir();
  if (!dir) return;
  const files = new Map<string, HistoryFixture>();
  const add = (file: string, workflowId: string, json: HistoryJson): void => {
    const found = [...secretShapesIn(json), ...secretValuesIn(json, secrets)];
    if (found.length > 0) throw new Error(`fixture ${file} not written: it holds ${found.join('; ')}`);
    files.set(file, { workflowId, workflowType: typeOf(json), ...json });
  };
  const parent = await fetchDecoded(h.client, h.workflowId, codec, runId);
  add(`${name}.json`, h.workflowId, parent);
  const counts = new Map<string, number>();
  for (const id of children ? childIdsOf(parent) : []) {
    const child = await fetchDecoded(h.client, id, codec);
    const type = typeOf(child);
    const n = (counts.get(type) ?? 0) + 1;
    counts.set(type, n);
    add(`${name}.child-${type}-${n}.json`, id, child);
  }
  // Scanned: replace the fixture and its children of an earlier recording (record.ts --only keeps the rest).
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f === `${name}.json` || f.startsWith(`${name}.child-`)) rmSync(join(dir, f));
  for (const [file, fixture] of files) writeFileSync(join(dir, file), `${JSON.stringify(fixture, null, 2)}\n`);
}

/**
 * A rotation on the real stack saved as fixture `name` when recording, refused if it holds any value
 * its store still has (current, previous, pending) or one of `secrets` (values the run replaced).
 */
export async function recordRotation(
  h: WorkflowHandle,
  name: string,
  ts: TestStore,
  opts: RecordOptions = {},
): Promise<void> {
  if (!recordDir()) return;
  const secrets = [...(await storeValues(ts)), ...(opts.secrets ?? [])];
  await recordHistory(h, name, rotorCodec(), { ...opts, secrets });
}
