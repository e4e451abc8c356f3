import { describe, expect, it } from 'vitest';
import type { ClusterReaders, SecretReader } from './contracts';
import { compactReaders, expandReaders } from './readers';

const reader = (identity: string, flagged = false): SecretReader => ({
  identity,
  kind: 'User',
  verbs: ['get'],
  via: [`ClusterRoleBinding/b → ClusterRole/r (cluster)`],
  system: false,
  rotor: false,
  consumer: false,
  flagged,
  confirmed: true,
});
const cluster = (name: string, readers: SecretReader[]): ClusterReaders => ({
  cluster: name,
  namespace: 'ns',
  secretName: 's',
  readers,
  consumers: [],
  unseen: [],
});

describe('compactReaders', () => {
  const fleet = [
    cluster('a', [reader('user:x')]),
    cluster('b', [reader('user:x')]),
    cluster('c', [reader('user:x'), reader('user:mallory', true)]),
    cluster('d', [reader('user:x')]),
    cluster('e', []),
  ];

  it('keeps one copy of each distinct list and points the others at it', () => {
    const compact = compactReaders(fleet);
    expect(compact.map((c) => [c.cluster, c.readers.length, c.sameReadersAs])).toEqual([
      ['a', 1, undefined],
      ['b', 0, 'a'],
      ['c', 2, undefined],
      ['d', 0, 'a'],
      ['e', 0, undefined],
    ]);
  });

  it('loses nothing: expanding gives back every list', () => {
    expect(expandReaders(compactReaders(fleet))).toEqual(fleet);
  });

  it('stays small for a thousand clusters sharing their readers', () => {
    const many = Array.from({ length: 1000 }, (_, i) => cluster(`c${i}`, [reader('user:x'), reader('group:y')]));
    expect(JSON.stringify(compactReaders(many)).length).toBeLessThan(JSON.stringify(many).length / 3);
  });
});
