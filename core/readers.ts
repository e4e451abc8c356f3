/**
 * Reader lists at fleet scale: the same identities (control-plane machinery, cluster-wide
 * bindings) can read the Secret in most clusters, so a list repeated per cluster would grow the
 * plan's result and the status past Temporal's payload limits at a few hundred clusters.
 */
import type { ClusterReaders } from './contracts';

/**
 * Keeps the first cluster with each distinct reader list whole; every later cluster with an equal
 * list gets `readers: []` and `sameReadersAs` naming that first cluster. Nothing is dropped:
 * {@link expandReaders} restores the full lists.
 */
export function compactReaders(all: readonly ClusterReaders[]): ClusterReaders[] {
  const firstWith = new Map<string, string>();
  return all.map((c) => {
    if (!c.readers.length) return c;
    const key = JSON.stringify(c.readers);
    const first = firstWith.get(key);
    if (first === undefined) {
      firstWith.set(key, c.cluster);
      return c;
    }
    return { ...c, readers: [], sameReadersAs: first };
  });
}

/** The full reader list of every cluster, following `sameReadersAs`. */
export function expandReaders(all: readonly ClusterReaders[]): ClusterReaders[] {
  const byCluster = new Map(all.map((c) => [c.cluster, c]));
  return all.map((c) => {
    if (c.sameReadersAs === undefined) return c;
    const { sameReadersAs, ...rest } = c;
    return { ...rest, readers: byCluster.get(sameReadersAs)?.readers ?? [] };
  });
}
