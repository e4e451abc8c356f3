/**
 * SubjectAccessReview answers kept while the RBAC that decides them is unchanged. A rotation's
 * plan asks the same questions on every run (each identity with a grant on the Secret, each read
 * verb, each cluster: 42 reviews, about 0.4 s, for the 3-cluster demo); the worker keeps the answers
 * between runs. An answer is filed under a fingerprint of the RBAC objects plan read in the same
 * run — the uid and resourceVersion of every ClusterRole and ClusterRoleBinding and of the
 * namespace's Roles and RoleBindings — so any create, update or delete of one of them gives a new
 * key and the question is asked again: the answer is never reused across an RBAC change. The
 * fingerprint costs no request: plan lists those objects anyway to find the candidates.
 *
 * Only an answer that confirms what the RBAC objects grant is kept. Such an answer cannot go stale
 * while the fingerprint holds: the same set of objects at the same resourceVersions recurs only when
 * objects added meanwhile are deleted again, and RBAC only adds permissions, so a review that saw
 * those extra objects confirms the same verbs. An answer that grants less than the objects do is
 * asked again every time: the apiserver's authorizer may not have seen the newest objects yet (its
 * RBAC cache trails etcd briefly), or another authorizer (a webhook) decided, which no RBAC object
 * shows. `ttlMs` bounds any answer's reuse all the same.
 */
import { createHash } from 'node:crypto';
import type { ReadVerb } from '../adapters/kubernetes/inspect-reads';

/** An RBAC object as far as the fingerprint reads it. */
interface Versioned {
  metadata?: { uid?: string; name?: string; namespace?: string; resourceVersion?: string };
}

/**
 * A fingerprint of RBAC objects: it changes when one is created, updated (new resourceVersion) or
 * deleted, or deleted and created again under the same name (new uid). Order does not matter.
 */
export function rbacFingerprint(...lists: readonly (readonly Versioned[])[]): string {
  const lines = lists.flatMap((list, i) =>
    list.map((o) => {
      const m = o.metadata ?? {};
      return `${i}\t${m.namespace ?? ''}\t${m.name ?? ''}\t${m.uid ?? ''}\t${m.resourceVersion ?? ''}`;
    }),
  );
  return createHash('sha256').update(lines.sort().join('\n')).digest('base64url');
}

/** How often answers were reused and asked. */
export interface ReviewCacheStats {
  hits: number;
  /** Questions sent to the apiserver (each one or more SubjectAccessReviews, one per verb). */
  misses: number;
}

/** The answers one process keeps; bounded, oldest use evicted first. */
export class ReviewCache {
  readonly stats: ReviewCacheStats = { hits: 0, misses: 0 };
  private readonly entries = new Map<string, { at: number; answer: Promise<ReadVerb[]> }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: { maxEntries?: number; ttlMs?: number; now?: () => number } = {}) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The answer filed under `key` (which must carry the RBAC fingerprint), else `ask()`'s. A question
   * already in flight is shared. An answer `keep` refuses, and a failed question, are forgotten once
   * settled, so the next run asks again.
   */
  answer(
    key: string,
    ask: () => Promise<ReadVerb[]>,
    keep: (verbs: ReadVerb[]) => boolean = () => true,
  ): Promise<ReadVerb[]> {
    const now = this.now();
    const kept = this.entries.get(key);
    this.entries.delete(key);
    if (kept && now - kept.at < this.ttlMs) {
      this.entries.set(key, kept); // most recently used last
      this.stats.hits++;
      return kept.answer;
    }
    this.stats.misses++;
    const answer = ask();
    const drop = () => {
      if (this.entries.get(key)?.answer === answer) this.entries.delete(key);
    };
    answer.then((verbs) => keep(verbs) || drop(), drop);
    this.entries.set(key, { at: now, answer });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return answer;
  }
}
