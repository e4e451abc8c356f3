import type { Canary, Credential } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

type JwtCredential = Extract<Credential, { kind: 'jwt-signing-key' }>;
type JwtVerifyCanary = Extract<Canary, { type: 'jwt-verify' }>;

/** Whether the tenant's `allow.jwks` lists this ConfigMap in this context and namespace. */
function jwksAllowed(ctx: RuleContext, context: string, namespace: string, configMap: string): boolean {
  return ctx.tenant.allow.jwks.some(
    (e) => e.context === context && e.namespaces.includes(namespace) && e.configMaps.includes(configMap),
  );
}

const grantFix = (context: string, namespace: string, configMap: string) =>
  `add { context: ${context}, namespaces: [${namespace}], configMaps: [${configMap}] } to allow.jwks`;

/**
 * A `jwt-signing-key` writes its JWKS ConfigMap in every target rotor resolved from
 * `spec.clusters` (its `jwks.targets`): each must be a context, namespace and ConfigMap name the
 * tenant's `allow.jwks` lists. The targets are checked as the steps will use them, so a credential
 * whose targets were crafted apart from `spec.clusters` is refused as well.
 */
export function jwtSigningKeyRefusals(ctx: RuleContext, cred: JwtCredential): PolicyRefusal[] {
  const { configMap } = cred.jwks;
  return (cred.jwks.targets ?? []).flatMap((t) => {
    if (jwksAllowed(ctx, t.context, t.namespace, configMap)) return [];
    const at = ctx.playbook.spec.clusters.findIndex((c) => c.name === t.cluster);
    return [
      tenantRefusal(
        ctx,
        at >= 0 ? `spec.clusters[${at}].namespace` : 'spec.credential.jwks.targets',
        'allow.jwks',
        `JWKS ConfigMap ${t.namespace}/${configMap} in context '${t.context}' (cluster ${t.cluster}, spec.credential.jwks.configMap) is not one the tenant may publish to`,
        grantFix(t.context, t.namespace, configMap),
      ),
    ];
  });
}

/** A `jwt-verify` canary reads only a JWKS ConfigMap the tenant's `allow.jwks` lists. */
export function jwtVerifyCanaryRefusals(ctx: RuleContext, c: JwtVerifyCanary, path: string): PolicyRefusal[] {
  if (jwksAllowed(ctx, c.cluster, c.namespace, c.configMap)) return [];
  return [
    tenantRefusal(
      ctx,
      `${path}.configMap`,
      'allow.jwks',
      `jwt-verify canary '${c.name}' would read ConfigMap ${c.namespace}/${c.configMap} in context '${c.cluster}', which is not one of the tenant's JWKS`,
      grantFix(c.cluster, c.namespace, c.configMap),
    ),
  ];
}
