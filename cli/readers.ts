import type { ClusterReaders } from '../core/contracts';
import { expandReaders } from '../core/readers';

/**
 * Who could read the Secret at plan, per cluster: non-system identities one per line (flagged ones
 * marked `!`), system machinery as a count, and anything that could not be seen.
 */
export function readerLines(readers: ClusterReaders[]): string[] {
  const lines: string[] = [];
  // A list shared by many clusters is printed once, with the clusters that share it.
  const sharing = new Map<string, string[]>();
  for (const c of readers)
    if (c.sameReadersAs) sharing.set(c.sameReadersAs, [...(sharing.get(c.sameReadersAs) ?? []), c.cluster]);
  for (const [i, c] of expandReaders(readers).entries()) {
    if (readers[i]?.sameReadersAs && !c.unseen.length) continue;
    const also = sharing.get(c.cluster);
    const system = c.readers.filter((r) => r.system).length;
    const flagged = c.readers.filter((r) => r.flagged).length;
    lines.push(
      `readers in ${c.cluster} (${c.namespace}/${c.secretName}): ${c.readers.length} identities, ${flagged} not known consumers, ${system} system${also?.length ? ` (the same in ${also.length} more: ${abbreviate(also)})` : ''}`,
    );
    for (const r of c.readers.filter((x) => !x.system)) {
      const role = r.rotor ? 'rotor' : r.consumer ? 'consumer' : 'NOT A KNOWN CONSUMER';
      lines.push(`  ${r.flagged ? '!' : ' '} ${r.identity} ${r.verbs.join('/')} — ${role} — ${r.via.join('; ')}`);
    }
    for (const u of c.unseen) lines.push(`  ? ${u}`);
  }
  return lines;
}

function abbreviate(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} …`;
}
