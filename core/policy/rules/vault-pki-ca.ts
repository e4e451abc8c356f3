import type { Canary, Credential } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

type PkiCaCredential = Extract<Credential, { kind: 'vault-pki-ca-rollover' }>;
type HandshakeCanary = Extract<Canary, { type: 'vault-pki-handshake' }>;
type MountGrant = RuleContext['tenant']['allow']['vaultPkiCa'][number];

const mountGrant = (ctx: RuleContext, mount: string): MountGrant | undefined =>
  ctx.tenant.allow.vaultPkiCa.find((m) => m.mount === mount);

const bundleAllowed = (g: MountGrant, context: string, namespace: string, configMap: string) =>
  g.bundles.some((b) => b.context === context && b.namespaces.includes(namespace) && b.configMaps.includes(configMap));

const noMount = (ctx: RuleContext, path: string, mount: string, what: string): PolicyRefusal =>
  tenantRefusal(
    ctx,
    path,
    'allow.vaultPkiCa',
    `${what} uses PKI mount '${mount}', which is not one the tenant may use`,
    `add { mount: ${mount}, issuerPrefixes: […], roles: […], bundles: […] } to allow.vaultPkiCa`,
  );

const bundleFix = (mount: string, context: string, namespace: string, configMap: string) =>
  `add { context: ${context}, namespaces: [${namespace}], configMaps: [${configMap}] } to the bundles of mount ${mount} in allow.vaultPkiCa`;

/**
 * A `vault-pki-ca-rollover` makes and changes issuers named `<issuerPrefix>-…` in `mount`, issues
 * through `leafRole` and writes its trust bundle in every target resolved from `spec.clusters`:
 * the mount, prefix, role and each bundle target must be listed in the tenant's `allow.vaultPkiCa`.
 */
export function vaultPkiCaRefusals(ctx: RuleContext, cred: PkiCaCredential): PolicyRefusal[] {
  const g = mountGrant(ctx, cred.mount);
  if (!g) return [noMount(ctx, 'spec.credential.mount', cred.mount, 'the vault-pki-ca-rollover credential')];
  const refusals: PolicyRefusal[] = [];
  if (!g.issuerPrefixes.includes(cred.issuerPrefix))
    refusals.push(
      tenantRefusal(
        ctx,
        'spec.credential.issuerPrefix',
        'allow.vaultPkiCa',
        `issuer prefix '${cred.issuerPrefix}' in mount ${cred.mount} is not one the tenant may use`,
        `add ${cred.issuerPrefix} to the issuerPrefixes of mount ${cred.mount} in allow.vaultPkiCa`,
      ),
    );
  if (!g.roles.includes(cred.leafRole))
    refusals.push(
      tenantRefusal(
        ctx,
        'spec.credential.leafRole',
        'allow.vaultPkiCa',
        `PKI role '${cred.leafRole}' in mount ${cred.mount} is not one the tenant may issue through`,
        `add ${cred.leafRole} to the roles of mount ${cred.mount} in allow.vaultPkiCa`,
      ),
    );
  const { configMap } = cred.bundle;
  for (const t of cred.bundle.targets ?? []) {
    if (bundleAllowed(g, t.context, t.namespace, configMap)) continue;
    const at = ctx.playbook.spec.clusters.findIndex((c) => c.name === t.cluster);
    refusals.push(
      tenantRefusal(
        ctx,
        at >= 0 ? `spec.clusters[${at}].namespace` : 'spec.credential.bundle.targets',
        'allow.vaultPkiCa',
        `trust bundle ConfigMap ${t.namespace}/${configMap} in context '${t.context}' (cluster ${t.cluster}, spec.credential.bundle.configMap) is not one the tenant may publish to`,
        bundleFix(cred.mount, t.context, t.namespace, configMap),
      ),
    );
  }
  return refusals;
}

/** A `vault-pki-handshake` canary issues through a granted mount and role and reads a granted bundle only. */
export function vaultPkiHandshakeCanaryRefusals(ctx: RuleContext, c: HandshakeCanary, path: string): PolicyRefusal[] {
  const g = mountGrant(ctx, c.mount);
  if (!g) return [noMount(ctx, `${path}.mount`, c.mount, `vault-pki-handshake canary '${c.name}'`)];
  const refusals: PolicyRefusal[] = [];
  if (!g.roles.includes(c.role))
    refusals.push(
      tenantRefusal(
        ctx,
        `${path}.role`,
        'allow.vaultPkiCa',
        `vault-pki-handshake canary '${c.name}' would issue through PKI role '${c.role}' in mount ${c.mount}, which the tenant may not`,
        `add ${c.role} to the roles of mount ${c.mount} in allow.vaultPkiCa`,
      ),
    );
  if (!bundleAllowed(g, c.cluster, c.namespace, c.configMap))
    refusals.push(
      tenantRefusal(
        ctx,
        `${path}.configMap`,
        'allow.vaultPkiCa',
        `vault-pki-handshake canary '${c.name}' would read ConfigMap ${c.namespace}/${c.configMap} in context '${c.cluster}', which is not one of the tenant's trust bundles`,
        bundleFix(c.mount, c.cluster, c.namespace, c.configMap),
      ),
    );
  return refusals;
}
