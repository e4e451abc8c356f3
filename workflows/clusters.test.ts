import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { ClusterTarget, Playbook } from '../core/playbook/schema';
import { inWindow, wavesOf } from './clusters';
import { rootMessage } from './saga';

const cluster = (name: string) => ({ name }) as ClusterTarget;
const spec = (names: string[], waves?: string[][]) =>
  ({ clusters: names.map(cluster), ...(waves ? { waves } : {}) }) as Playbook['spec'];

describe('wavesOf', () => {
  it.each<[string, Playbook['spec'], string[][]]>([
    ['no waves: one wave of every cluster', spec(['a', 'b']), [['a', 'b']]],
    ['waves in their order', spec(['a', 'b', 'c'], [['c'], ['a', 'b']]), [['c'], ['a', 'b']]],
    ['unknown names and empty waves dropped', spec(['a'], [['x'], ['a']]), [['a']]],
    ['no clusters: no waves', spec([]), []],
  ])('%s', (_name, s, expected) => {
    expect(wavesOf(s).map((w) => w.map((c) => c.name))).toEqual(expected);
  });
});

describe('inWindow', () => {
  it.each([
    [1, 1],
    [2, 2],
    [5, 4],
  ])('limit %i keeps at most %i of 4 in flight and settles every item in order', async (limit, most) => {
    let inFlight = 0;
    let peak = 0;
    const results = await inWindow([1, 2, 3, 4], limit, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (n === 3) throw new Error('three');
      return n * 10;
    });
    expect(peak).toBe(most);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      20,
      'three',
      40,
    ]);
  });
});

describe('rootMessage', () => {
  const app = ApplicationFailure.create({ message: 'cluster-a: forbidden', type: 'PermissionDenied' });
  const wrapper = (message: string, cause?: unknown) => Object.assign(new Error(message), { cause });
  it.each<[string, unknown, string]>([
    ['a plain error', new Error('boom'), 'boom'],
    ['the first application failure under wrappers', wrapper('Activity task failed', app), 'cluster-a: forbidden'],
    ['else the innermost message', wrapper('outer', wrapper('inner')), 'inner'],
    ['a non-error', 'text', 'text'],
  ])('%s', (_name, err, expected) => {
    expect(rootMessage(err)).toBe(expected);
  });
});
