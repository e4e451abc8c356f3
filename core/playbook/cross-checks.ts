import type { z } from 'zod';

/** The parts of a parsed playbook the cross-field rules read. */
interface Checked {
  spec: {
    clusters: { name: string; context?: string | undefined; namespace: string; secretName: string }[];
    waves?: string[][] | undefined;
    dualRead: { currentKey: string; otherKey: string };
    canaries: { name: string }[];
    schedule?: { every: number; jitter: number } | undefined;
  };
}

/** Reports each later entry whose key an earlier one already had, at `path(index)`. */
function duplicates<T>(
  items: readonly T[],
  key: (t: T) => string,
  report: (index: number, first: number) => void,
): void {
  const seen = new Map<string, number>();
  items.forEach((t, i) => {
    const k = key(t);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else report(i, first);
  });
}

/** Rules across fields: each problem names the field's path and what to write instead. */
export function crossCheck(p: Checked, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const clusters = p.spec.clusters.map((c) => c.name);
  duplicates(
    p.spec.clusters,
    (c) => c.name,
    (i, first) =>
      issue(
        ['spec', 'clusters', i, 'name'],
        `cluster '${clusters[i] ?? ''}' is listed twice (also clusters[${first}]); give each entry its own name`,
      ),
  );
  const waved = new Set<string>();
  p.spec.waves?.forEach((wave, w) =>
    wave.forEach((c, i) => {
      if (!clusters.includes(c)) {
        issue(
          ['spec', 'waves', w, i],
          `'${c}' is not a cluster of spec.clusters; write one of: ${clusters.join(', ')}`,
        );
      }
      if (waved.has(c)) issue(['spec', 'waves', w, i], `'${c}' is in more than one wave; keep it in one`);
      waved.add(c);
    }),
  );
  if (p.spec.waves) {
    for (const c of clusters.filter((c) => !waved.has(c))) {
      issue(['spec', 'waves'], `cluster '${c}' is in no wave; add it to one`);
    }
  }
  if (p.spec.dualRead.currentKey === p.spec.dualRead.otherKey) {
    issue(['spec', 'dualRead', 'otherKey'], 'must differ from currentKey; write e.g. value-other');
  }
  // Two entries writing one Secret would fight over it, and their undos would undo each other.
  // Entries with a repeated name are reported above already.
  const named = p.spec.clusters.map((c, at) => ({ c, at })).filter(({ c, at }) => clusters.indexOf(c.name) === at);
  duplicates(
    named,
    ({ c }) => JSON.stringify([c.context ?? c.name, c.namespace, c.secretName]),
    (i, first) =>
      issue(
        ['spec', 'clusters', named[i]?.at ?? i, 'secretName'],
        `clusters[${named[first]?.at ?? first}] already delivers to this context, namespace and Secret; remove this entry or name another secretName`,
      ),
  );
  duplicates(
    p.spec.canaries,
    (c) => c.name,
    (i, first) =>
      issue(
        ['spec', 'canaries', i, 'name'],
        `canaries[${first}] already has the name '${p.spec.canaries[i]?.name ?? ''}'; give each canary its own name`,
      ),
  );
  const schedule = p.spec.schedule;
  if (schedule && schedule.every > 0 && schedule.jitter >= schedule.every) {
    issue(['spec', 'schedule', 'jitter'], 'must be shorter than schedule.every; write e.g. 1h');
  }
}
