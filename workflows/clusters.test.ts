import { describe, expect, it } from 'vitest';
import type { ClusterTarget, Playbook } from '../core/playbook/schema';
import { wavesOf } from './clusters';

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
