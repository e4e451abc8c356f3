import { loadKubeconfig } from '../adapters/kubernetes/clients';
import type { ScheduledPlaybook } from '../adapters/playbook-files';
import { whoCanReadAll } from '../inspect/who-can-read';

/**
 * The playbooks whose delivered Secret `identity` (`user:…`, `group:…` or
 * `serviceaccount:<ns>/<name>`) could read in any of their clusters, by RBAC confirmed with
 * SubjectAccessReview (inspect/who-can-read), or mounts as a consumer. A cluster whose list is
 * incomplete keeps its playbook (rotating one more secret is the safe side of an incident) and
 * says so through `note`; a playbook without clusters is not readable through Kubernetes.
 */
export async function readableBy(
  identity: string,
  playbooks: readonly ScheduledPlaybook[],
  note: (line: string) => void,
): Promise<ScheduledPlaybook[]> {
  const targets = playbooks.flatMap((p, i) =>
    p.playbook.spec.clusters.map((c) => ({
      index: i,
      target: {
        name: c.name,
        ...(c.context ? { context: c.context } : {}),
        namespace: c.namespace,
        secretName: c.secretName,
      },
    })),
  );
  const lists = await whoCanReadAll(
    loadKubeconfig(),
    targets.map((t) => t.target),
    { timeoutMs: 10_000 },
  );
  const keep = new Set<number>();
  lists.forEach((l, k) => {
    const index = targets[k]?.index;
    if (index === undefined) return;
    if (l.readers.some((r) => r.identity === identity) || l.consumers.includes(identity)) keep.add(index);
    else if (l.unseen.length > 0) {
      keep.add(index);
      note(
        `${playbooks[index]?.file ?? ''}: who can read ${l.namespace}/${l.secretName} in ${l.cluster} is incomplete (${l.unseen.join('; ')}); selected to be safe`,
      );
    }
  });
  return playbooks.filter((_, i) => keep.has(i));
}
