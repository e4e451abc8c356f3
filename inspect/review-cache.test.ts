import { describe, expect, it } from 'vitest';
import type { ReadVerb } from '../adapters/kubernetes/inspect-reads';
import { ReviewCache, rbacFingerprint } from './review-cache';

const obj = (name: string, uid: string, resourceVersion: string, namespace?: string) => ({
  metadata: { name, uid, resourceVersion, ...(namespace ? { namespace } : {}) },
});

describe('rbacFingerprint', () => {
  const roles = [obj('a', 'u1', '10', 'ns'), obj('b', 'u2', '11', 'ns')];
  const bindings = [obj('a', 'u3', '12', 'ns')];
  const base = rbacFingerprint(roles, bindings);

  it('is the same for the same objects in any order', () => {
    expect(rbacFingerprint([...roles].reverse(), bindings)).toBe(base);
  });

  it('changes on an update, a create, a delete, a re-create under the same name, and a move between lists', () => {
    const changed = [
      rbacFingerprint([obj('a', 'u1', '13', 'ns'), roles[1]!], bindings),
      rbacFingerprint(roles, [...bindings, obj('c', 'u4', '14', 'ns')]),
      rbacFingerprint(roles, []),
      rbacFingerprint([obj('a', 'u9', '10', 'ns'), roles[1]!], bindings),
      rbacFingerprint([...roles, ...bindings], []),
    ];
    for (const c of changed) expect(c).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });
});

describe('ReviewCache', () => {
  const answers = (verbs: ReadVerb[]) => {
    const asked: string[] = [];
    return { asked, ask: (key: string) => () => (asked.push(key), Promise.resolve(verbs)) };
  };

  it('asks once per key and answers again from memory', async () => {
    const cache = new ReviewCache();
    const { asked, ask } = answers(['get']);
    expect(await cache.answer('k1', ask('k1'))).toEqual(['get']);
    expect(await cache.answer('k1', ask('k1'))).toEqual(['get']);
    expect(await cache.answer('k2', ask('k2'))).toEqual(['get']);
    expect(asked).toEqual(['k1', 'k2']);
    expect(cache.stats).toEqual({ hits: 1, misses: 2 });
  });

  it('shares a question in flight', async () => {
    const cache = new ReviewCache();
    const { asked, ask } = answers(['list']);
    const both = await Promise.all([cache.answer('k', ask('k')), cache.answer('k', ask('k'))]);
    expect(both).toEqual([['list'], ['list']]);
    expect(asked).toEqual(['k']);
  });

  it('forgets a failed question, so the next run asks again', async () => {
    const cache = new ReviewCache();
    await expect(cache.answer('k', () => Promise.reject(new Error('403')))).rejects.toThrow('403');
    const { asked, ask } = answers(['get']);
    expect(await cache.answer('k', ask('k'))).toEqual(['get']);
    expect(asked).toEqual(['k']);
  });

  it('forgets an answer keep refuses (grants less than RBAC), so the next run asks again', async () => {
    const cache = new ReviewCache();
    const { asked, ask } = answers([]);
    const confirmsGet = (v: ReadVerb[]) => v.includes('get');
    expect(await cache.answer('k', ask('k'), confirmsGet)).toEqual([]);
    expect(await cache.answer('k', ask('k'), confirmsGet)).toEqual([]);
    expect(asked).toEqual(['k', 'k']);
  });

  it('asks again after ttlMs (authorizers other than RBAC)', async () => {
    let now = 0;
    const cache = new ReviewCache({ ttlMs: 1000, now: () => now });
    const { asked, ask } = answers(['get']);
    await cache.answer('k', ask('k'));
    now = 999;
    await cache.answer('k', ask('k'));
    now = 1000;
    await cache.answer('k', ask('k'));
    expect(asked).toEqual(['k', 'k']);
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const cache = new ReviewCache({ maxEntries: 2 });
    const { asked, ask } = answers(['get']);
    await cache.answer('a', ask('a'));
    await cache.answer('b', ask('b'));
    await cache.answer('a', ask('a')); // a is now the most recently used
    await cache.answer('c', ask('c')); // evicts b
    await cache.answer('a', ask('a'));
    await cache.answer('b', ask('b'));
    expect(asked).toEqual(['a', 'b', 'c', 'b']);
  });
});
