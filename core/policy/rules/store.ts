import type { Store } from '../../playbook/schema';
import {
  awsSecretAccount,
  awsSecretName,
  awsSecretRegion,
  globMatches,
  isCanonicalPath,
  underPrefix,
  underSecretPrefix,
} from '../match';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

type VaultStore = Extract<Store, { type: 'vault' }>;
type AwsStore = Extract<Store, { type: 'aws' }>;

/**
 * `spec.secret.store` must be one of the tenant's store locations: a Vault mount and path under an
 * `allow.vault` prefix (refused outright when not canonical, percent-decoded or not), or a Secrets
 * Manager secret under an `allow.aws` prefix (by segment), region and, for an ARN, account,
 * assuming only a role listed for it.
 */
export function storeRule(ctx: RuleContext): PolicyRefusal[] {
  const store = ctx.playbook.spec.secret.store;
  return store.type === 'vault' ? vaultStore(ctx, store) : awsStore(ctx, store);
}

function vaultStore(ctx: RuleContext, store: VaultStore): PolicyRefusal[] {
  if (!isCanonicalPath(store.path) || !isCanonicalPath(store.mount))
    return [
      tenantRefusal(
        ctx,
        'spec.secret.store.path',
        'allow.vault',
        `vault path '${store.mount}/${store.path}' has empty, '.' or '..' segments`,
        'not allow it: write the path without them',
      ),
    ];
  if (ctx.tenant.allow.vault.some((v) => v.mount === store.mount && underPrefix(store.path, v.pathPrefix))) return [];
  return [
    tenantRefusal(
      ctx,
      'spec.secret.store.path',
      'allow.vault',
      `vault location ${store.mount}/${store.path} is not one of the tenant's store locations`,
      `add { mount: ${store.mount}, pathPrefix: ${store.path} } to allow.vault`,
    ),
  ];
}

function awsStore(ctx: RuleContext, store: AwsStore): PolicyRefusal[] {
  const name = awsSecretName(store.secretId);
  const region = store.region ?? awsSecretRegion(store.secretId) ?? ctx.request.defaultRegion;
  const account = awsSecretAccount(store.secretId);
  const named = ctx.tenant.allow.aws.filter(
    (a) => underSecretPrefix(name, a.secretIdPrefix) && (!a.region || a.region === region),
  );
  // An ARN names an account: the same name in another account is someone else's secret.
  const entries = account === undefined ? named : named.filter((a) => a.account === account);
  if (named.length > 0 && entries.length === 0)
    return [
      tenantRefusal(
        ctx,
        'spec.secret.store.secretId',
        'allow.aws[].account',
        `Secrets Manager secret '${store.secretId}' is in account ${account ?? '?'}, which the tenant's allow.aws entry does not name`,
        `set account: ${account ?? '?'} on the allow.aws entry with secretIdPrefix ${named[0]?.secretIdPrefix ?? name}, or name the secret without an ARN`,
      ),
    ];
  if (entries.length === 0)
    return [
      tenantRefusal(
        ctx,
        'spec.secret.store.secretId',
        'allow.aws',
        `Secrets Manager secret '${store.secretId}' (region ${region ?? 'default'}) is not one of the tenant's store locations`,
        `add { secretIdPrefix: ${name} } to allow.aws`,
      ),
    ];
  // A role is another identity: the playbook may only name one the admin gave the tenant for this secret.
  const roleArn = store.roleArn;
  if (!roleArn || entries.some((a) => a.roleArns.some((p) => globMatches(roleArn, p)))) return [];
  return [
    tenantRefusal(
      ctx,
      'spec.secret.store.roleArn',
      'allow.aws[].roleArns',
      `IAM role '${roleArn}' is not one the tenant may assume for Secrets Manager secret '${store.secretId}'`,
      `add ${roleArn} to roleArns of the allow.aws entry with secretIdPrefix ${entries[0]?.secretIdPrefix ?? name}`,
    ),
  ];
}
