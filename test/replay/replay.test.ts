import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import type { ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { workerDataConverter } from '../../adapters/temporal/data-converter';
import { workflowBundleFromEnv, workflowsPath } from '../../workers/bundle';
import type { HistoryJson } from '../helpers/history';
import { fromHistoryJson } from '../helpers/history';

// The fixtures are stored decoded and the codec passes plaintext through, so replay needs no
// Temporal server and no particular codec key: a throwaway one.
const env = { ROTOR_CODEC_KEY: randomBytes(32).toString('base64') };
const bundle = workflowBundleFromEnv();

/** Histories running workers must replay; `incompatible.json` must fail. */
const compatible = [
  'rotation-success.json',
  'rotation-rolled-back.json',
  'rotation-clusters-success.json',
  'rotation-clusters-rolled-back.json',
  'rotation-inline-success.json',
  'rotation-inline-rolled-back.json',
] as const;
const fixtures = [...compatible, 'incompatible.json'] as const;

function load(name: string): HistoryJson {
  return JSON.parse(readFileSync(new URL(`../histories/${name}`, import.meta.url), 'utf8')) as HistoryJson;
}

/**
 * Recorded histories (test/histories, see its README) replayed against today's workflow code with
 * the worker's data converter: a change that would break running rotations fails here.
 */
describe('replay of recorded rotation histories', () => {
  const results = new Map<string, ReplayResult>();

  // One replay worker (one workflow bundle) for all fixtures: bundling dominates the cost.
  beforeAll(async () => {
    // Fixtures that recorded their workflow id replay under it (child ids derive from it).
    const histories = fixtures.map((name) => {
      const { workflowId, ...json } = load(name) as HistoryJson & { workflowId?: string };
      return { name, workflowId: workflowId ?? name, history: fromHistoryJson(json) };
    });
    const byId = new Map(histories.map((h) => [h.workflowId, h.name]));
    for await (const r of Worker.runReplayHistories(
      {
        // The run's one prebuilt bundle (test/global-setup.ts), the same code the other tests run.
        ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath }),
        dataConverter: workerDataConverter(env),
      },
      histories,
    )) {
      results.set(byId.get(r.workflowId) ?? r.workflowId, r);
    }
  });

  it.each(compatible)('%s replays without error', (name) => {
    const r = results.get(name);
    expect(r).toBeDefined();
    expect(r?.error).toBeUndefined();
  });

  it('incompatible.json fails replay with a determinism violation naming the activity', () => {
    const error = results.get('incompatible.json')?.error;
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect(error?.message).toMatch(/promoteVersionV0/);
  });

  it('the fixtures are what they claim: a rotated run and a rolled-back run', () => {
    const last = (h: HistoryJson) => String(h.events[h.events.length - 1]?.['eventType']);
    expect(last(load('rotation-success.json'))).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(last(load('rotation-rolled-back.json'))).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    expect(last(load('rotation-clusters-success.json'))).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(last(load('rotation-clusters-rolled-back.json'))).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    // The cluster fixtures exercise the per-cluster child workflows.
    const children = load('rotation-clusters-success.json').events.filter(
      (e) => e['eventType'] === 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED',
    );
    expect(children.length).toBeGreaterThanOrEqual(6);
  });
});
