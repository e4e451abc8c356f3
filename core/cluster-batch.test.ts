import { describe, expect, it } from 'vitest';
import { batchResult, failedOf } from './cluster-batch';
import type { ClusterBatchReport } from './cluster-batch';

const clusters = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
const report: ClusterBatchReport = {
  step: 'promote',
  outcomes: [
    { cluster: 'a', ok: true },
    { cluster: 'b', ok: false, error: 'forbidden', type: 'PermissionDenied' },
  ],
  summary: '',
};

describe('a batch child result: counts and failed clusters', () => {
  it('counts the ok clusters and names the failed ones, and one the report left out as failed too', () => {
    const r = batchResult(clusters, report);
    expect(r).toMatchObject({ step: 'promote', total: 3, ok: 1 });
    expect(r.failed.map((f) => [f.cluster, f.error])).toEqual([
      ['b', 'forbidden'],
      ['c', 'promote: no outcome reported for this cluster'],
    ]);
    expect(r.summary).toBe(
      'promote 3 cluster(s): 1 ok, 2 failed: b (forbidden); c (promote: no outcome reported for this cluster)',
    );
  });

  it('failedOf reads a result and a full report (inline steps, children of runs recorded before results) alike', () => {
    expect(failedOf(report).map((f) => f.cluster)).toEqual(['b']);
    expect(failedOf(batchResult(clusters, report)).map((f) => f.cluster)).toEqual(['b', 'c']);
  });
});
