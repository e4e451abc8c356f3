import { describe, expect, it } from 'vitest';
import { initialStatus, refusedSignalsKept } from './status';
import type { StageName } from './status';
import { StatusWriter } from './status-writer';

const fresh = () =>
  new StatusWriter(
    initialStatus({
      secret: 's',
      playbook: 'p',
      trigger: 'manual',
      requestedBy: 'me',
      startedAt: 0,
      reason: undefined,
    }),
  );

describe('StatusWriter', () => {
  it.each<[string, (w: StatusWriter) => void, StageName, Record<string, unknown>]>([
    [
      'start',
      (w) => w.stageStarted('plan', 5, 'reading'),
      'plan',
      { state: 'running', startedAt: 5, detail: 'reading' },
    ],
    [
      'a second entry keeps the first start',
      (w) => (w.stageStarted('distribute', 5), w.stageDone('distribute', 6), w.stageStarted('distribute', 9, 'wave 2')),
      'distribute',
      { state: 'running', startedAt: 5, endedAt: 6, detail: 'wave 2' },
    ],
    ['done', (w) => (w.stageStarted('create', 1), w.stageDone('create', 3)), 'create', { state: 'done', endedAt: 3 }],
    ['failed', (w) => w.stageFailed('verify', 4, 'boom'), 'verify', { state: 'failed', endedAt: 4, detail: 'boom' }],
    ['skipped', (w) => w.stageSkipped('soak', 'no soak'), 'soak', { state: 'skipped', detail: 'no soak' }],
    [
      'note',
      (w) => w.stageNote('approval', 'approved by x'),
      'approval',
      { state: 'pending', detail: 'approved by x' },
    ],
  ])('stage transition: %s', (_name, act, stage, expected) => {
    const w = fresh();
    act(w);
    expect(w.stage(stage)).toMatchObject(expected);
  });

  it.each<[string, (w: StatusWriter) => void, string | undefined]>([
    ['nothing started', () => undefined, undefined],
    ['a running stage', (w) => (w.stageDone('plan', 1), w.stageStarted('create', 2)), 'create'],
    ['a failed stage', (w) => w.stageFailed('canary', 3, 'x'), 'canary'],
  ])('interruptedStage: %s', (_name, act, expected) => {
    const w = fresh();
    act(w);
    expect(w.interruptedStage()?.name).toBe(expected);
  });

  it('plans clusters by wave and moves one cluster at a time', () => {
    const w = fresh();
    w.clustersPlanned([[{ name: 'a' }], [{ name: 'b' }, { name: 'c' }]], 7);
    w.clusterPhase('b', 'dual-read', 8, 'dual-read');
    expect(w.status.clusters).toEqual([
      { name: 'a', wave: 0, phase: 'pending', updatedAt: 7 },
      { name: 'b', wave: 1, phase: 'dual-read', updatedAt: 8, detail: 'dual-read' },
      { name: 'c', wave: 1, phase: 'pending', updatedAt: 7 },
    ]);
  });

  it("keeps a cluster's failure after a rollback restores it, so the run still names the blocking cluster", () => {
    const w = fresh();
    w.clustersPlanned([[{ name: 'a' }, { name: 'b' }]], 1);
    w.clusterPhase('b', 'failed', 2, 'namespace x does not exist');
    w.clusterPhase('b', 'rolled-back', 3, 'rolled-back');
    expect(w.status.clusters[1]).toMatchObject({ phase: 'rolled-back', failure: 'namespace x does not exist' });
    expect(w.status.clusters[0]?.failure).toBeUndefined();
  });

  it('sets and clears versions only where asked', () => {
    const w = fresh();
    const v1 = { version: '1', fingerprint: 'hmac:1' };
    const v2 = { version: '2', fingerprint: 'hmac:2' };
    w.versions({ current: v1 });
    w.versions({ pending: v2 });
    expect([w.status.current, w.status.pending]).toEqual([v1, v2]);
    w.versions({ current: v2, pending: undefined });
    expect([w.status.current, w.status.pending]).toEqual([v2, undefined]);
  });

  it('counts refused signals and keeps only the newest by name and time', () => {
    const w = fresh();
    expect(w.status.refusedSignals).toBeUndefined();
    for (let i = 0; i < refusedSignalsKept + 3; i++) w.refusedSignal(i % 2 ? 'pauseSignal' : 'retrySignal', i);
    expect(w.status.refusedSignals?.count).toBe(refusedSignalsKept + 3);
    expect(w.status.refusedSignals?.last).toHaveLength(refusedSignalsKept);
    expect(w.status.refusedSignals?.last[0]).toEqual({ signal: 'pauseSignal', at: 3 });
    expect(w.status.refusedSignals?.last.at(-1)).toEqual({ signal: 'retrySignal', at: refusedSignalsKept + 2 });
  });
});
