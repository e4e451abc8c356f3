/**
 * Leaves a CA rollover's old CA still has in the clusters: `kubernetes.io/tls` Secrets in each
 * bundle target's namespace whose certificate the old CA signed and which have not expired. Only
 * `tls.crt` is looked at; the Secrets' keys are never kept or named.
 */
import type { JwksTarget } from '../../core/playbook/jwks-targets';
import type { KubeClients } from '../kubernetes/clients';
import { whereOf } from '../kubernetes/clients';
import { kubeFailure } from '../kubernetes/errors';
import { firstCert, issuedBy } from './vault-pki-ca-pem';
import type { Cert } from './vault-pki-ca-pem';

/** One line per Secret serving a live leaf of `ca`, naming the Secret, the cluster, subject and expiry. */
export async function leavesStillServed(
  kube: KubeClients,
  targets: readonly JwksTarget[],
  ca: Cert,
  now = Date.now(),
): Promise<string[]> {
  const found = await Promise.all(
    targets.map(async (t) => {
      const where = whereOf({ name: t.cluster, context: t.context });
      let items;
      try {
        items = (
          await kube
            .forContext(t.context)
            .core.listNamespacedSecret({ namespace: t.namespace, fieldSelector: 'type=kubernetes.io/tls' })
        ).items;
      } catch (e) {
        throw kubeFailure(e, where, 'list', `kubernetes.io/tls secrets in ${t.namespace}`);
      }
      return items.flatMap((s) => {
        const crt = s.data?.['tls.crt'];
        const leaf = firstCert(crt === undefined ? undefined : Buffer.from(crt, 'base64').toString('utf8'));
        if (!leaf || Date.parse(leaf.validTo) <= now || !issuedBy(leaf, ca)) return [];
        const serial = leaf.serialNumber.toLowerCase();
        return [
          `Secret ${t.namespace}/${s.metadata?.name ?? ''} in ${where} (${leaf.subject.replace(/\n/g, ', ')}, serial ${serial}, valid until ${new Date(leaf.validTo).toISOString()})`,
        ];
      });
    }),
  );
  return found.flat();
}
