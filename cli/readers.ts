import type { ClusterReaders } from '../core/contracts';

/**
 * Who could read the Secret at plan, per cluster: non-system identities one per line (flagged ones
 * marked `!`), system machinery as a count, and anything that could not be seen.
 */
export function readerLines(readers: ClusterReaders[]): string[] {
  const lines: string[] = [];
  for (const c of readers) {
    const system = c.readers.filter((r) => r.system).length;
    const flagged = c.readers.filter((r) => r.flagged).length;
    lines.push(
      `readers in ${c.cluster} (${c.namespace}/${c.secretName}): ${c.readers.length} identities, ${flagged} not known consumers, ${system} system`,
    );
    for (const r of c.readers.filter((x) => !x.system)) {
      const role = r.rotor ? 'rotor' : r.consumer ? 'consumer' : 'NOT A KNOWN CONSUMER';
      lines.push(`  ${r.flagged ? '!' : ' '} ${r.identity} ${r.verbs.join('/')} — ${role} — ${r.via.join('; ')}`);
    }
    for (const u of c.unseen) lines.push(`  ? ${u}`);
  }
  return lines;
}
