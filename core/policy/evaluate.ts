import type { Canary, Playbook } from '../playbook/schema';
import { awsSecretName, awsSecretRegion, globMatches, hostMatches, isCanonicalPath, underPrefix } from './match';
import { sameActor } from './actors';
import { isForbiddenAddress } from './addresses';
import type { PolicyRefusal } from './refusal';
import type { Policy, Tenant } from './schema';

export { formatRefusal } from './refusal';
export type { PolicyRefusal } from './refusal';

/** Who asks for a rotation and from where; the policy picks the tenant from this and the playbook. */
export interface PolicyContext {
  /** The playbook's file as given when the rotation was requested (relative to where rotor ran). */
  playbookFile?: string | undefined;
  requestedBy: string;
  /** Where the worker's admin database connection goes when a playbook names no host (PGHOST/PGPORT). */
  defaultDatabase?: { host?: string | undefined; port?: number | undefined } | undefined;
  /** The worker's AWS region, for secrets whose playbook names none. */
  defaultRegion?: string | undefined;
}

/** The first tenant whose every selector matches, or undefined. */
export function tenantFor(policy: Policy, playbook: Playbook, ctx: PolicyContext): Tenant | undefined {
  return policy.tenants.find(({ match }) => {
    if (
      match.directories &&
      !(ctx.playbookFile && match.directories.some((d) => underPrefix(ctx.playbookFile ?? '', d)))
    )
      return false;
    const labels = playbook.metadata.labels ?? {};
    if (match.labels && !Object.entries(match.labels).every(([k, v]) => labels[k] === v)) return false;
    if (
      match.requesterGroups &&
      !match.requesterGroups.some((g) => policy.groups[g]?.some((member) => sameActor(member, ctx.requestedBy)))
    )
      return false;
    return true;
  });
}

/** The policy's name for a database server at host:port, or undefined when it is not one of them. */
export function databaseServerAt(
  policy: Policy,
  host: string | undefined,
  port: number | undefined,
): string | undefined {
  if (!host) return undefined;
  return Object.entries(policy.databaseServers).find(
    ([, s]) => s.host.toLowerCase() === host.toLowerCase() && s.port === (port ?? 5432),
  )?.[0];
}

/**
 * Every way `playbook` would make rotor touch what the policy does not give its tenant. Empty means
 * allowed. Pure: the worker runs it at plan, `rotor validate --policy` and `rotor plan` before that.
 */
export function evaluatePolicy(policy: Policy, playbook: Playbook, ctx: PolicyContext): PolicyRefusal[] {
  if (policy.allowAll) return [];
  const tenant = tenantFor(policy, playbook, ctx);
  if (!tenant) {
    return [
      {
        path: 'metadata',
        rule: 'tenants[].match',
        message: `no tenant of the policy matches this playbook (file ${ctx.playbookFile ?? 'not given'}, labels ${JSON.stringify(playbook.metadata.labels ?? {})}, requester ${ctx.requestedBy})`,
        fix: 'add a tenant whose match selects this playbook',
      },
    ];
  }
  const out: PolicyRefusal[] = [];
  const rule = (r: string) => `tenants[${tenant.name}].${r}`;
  const refuse = (path: string, r: string, message: string, fix: string) =>
    out.push({ path, rule: rule(r), message, fix: `${fix} under tenant ${tenant.name}` });
  const spec = playbook.spec;

  const store = spec.secret.store;
  if (store.type === 'vault') {
    if (!isCanonicalPath(store.path) || !isCanonicalPath(store.mount))
      refuse(
        'spec.secret.store.path',
        'allow.vault',
        `vault path '${store.mount}/${store.path}' has empty, '.' or '..' segments`,
        'not allow it: write the path without them',
      );
    else if (!tenant.allow.vault.some((v) => v.mount === store.mount && underPrefix(store.path, v.pathPrefix)))
      refuse(
        'spec.secret.store.path',
        'allow.vault',
        `vault location ${store.mount}/${store.path} is not one of the tenant's store locations`,
        `add { mount: ${store.mount}, pathPrefix: ${store.path} } to allow.vault`,
      );
  } else {
    const name = awsSecretName(store.secretId);
    const region = store.region ?? awsSecretRegion(store.secretId) ?? ctx.defaultRegion;
    const entries = tenant.allow.aws.filter(
      (a) => name.startsWith(a.secretIdPrefix) && (!a.region || a.region === region),
    );
    const roleArn = store.roleArn;
    if (entries.length === 0)
      refuse(
        'spec.secret.store.secretId',
        'allow.aws',
        `Secrets Manager secret '${store.secretId}' (region ${region ?? 'default'}) is not one of the tenant's store locations`,
        `add { secretIdPrefix: ${name} } to allow.aws`,
      );
    // A role is another identity: the playbook may only name one the admin gave the tenant for this secret.
    else if (roleArn && !entries.some((a) => a.roleArns.some((p) => globMatches(roleArn, p))))
      refuse(
        'spec.secret.store.roleArn',
        'allow.aws[].roleArns',
        `IAM role '${roleArn}' is not one the tenant may assume for Secrets Manager secret '${store.secretId}'`,
        `add ${roleArn} to roleArns of the allow.aws entry with secretIdPrefix ${entries[0]?.secretIdPrefix ?? name}`,
      );
  }

  spec.clusters.forEach((c, i) => {
    const context = c.context ?? c.name;
    const path = `spec.clusters[${i}]`;
    const allowed = tenant.allow.clusters.filter((a) => a.context === context);
    if (allowed.length === 0)
      refuse(
        `${path}.${c.context ? 'context' : 'name'}`,
        'allow.clusters',
        `cluster context '${context}' is not one the tenant may use`,
        `add { context: ${context}, namespaces: [${c.namespace}] } to allow.clusters`,
      );
    else if (!allowed.some((a) => a.namespaces.includes(c.namespace)))
      refuse(
        `${path}.namespace`,
        'allow.clusters',
        `namespace '${c.namespace}' in context '${context}' is not one the tenant may use`,
        `add ${c.namespace} to the namespaces of context ${context} in allow.clusters`,
      );
  });

  const cred = spec.credential;
  const db = (host: string | undefined, port: number | undefined) => {
    const h = host ?? ctx.defaultDatabase?.host;
    const p = port ?? ctx.defaultDatabase?.port;
    return { where: `${h ?? '(none)'}:${p ?? 5432}`, server: databaseServerAt(policy, h, p) };
  };
  if (cred.kind === 'postgres-alternating-users') {
    const { where, server } = db(cred.host, cred.port);
    if (!server) {
      out.push({
        path: cred.host ? 'spec.credential.host' : 'spec.credential',
        rule: 'databaseServers',
        message: `database server ${where} is not one the worker is configured for; rotor's admin credentials only go to databaseServers`,
        fix: `add it to databaseServers (and to tenant ${tenant.name}'s allow.postgres) if it really is one of yours`,
      });
    } else {
      const entries = tenant.allow.postgres.filter((e) => e.server === server);
      cred.roles.forEach((role, i) => {
        if (!entries.some((e) => e.roles.includes(role)))
          refuse(
            `spec.credential.roles[${i}]`,
            'allow.postgres',
            `role '${role}' on server ${server} is not one the tenant may rotate`,
            `add ${role} to the roles of server ${server} in allow.postgres`,
          );
      });
      const database = cred.database;
      if (database && !entries.some((e) => !e.databases || e.databases.includes(database)))
        refuse(
          'spec.credential.database',
          'allow.postgres',
          `database '${database}' on server ${server} is not one the tenant may use`,
          `add ${database} to the databases of server ${server} in allow.postgres`,
        );
    }
  } else if (cred.kind === 'aws-iam-access-key') {
    if (!tenant.allow.iamUsers.includes(cred.userName))
      refuse(
        'spec.credential.userName',
        'allow.iamUsers',
        `IAM user '${cred.userName}' is not one the tenant may rotate`,
        `add ${cred.userName} to allow.iamUsers`,
      );
  } else if (cred.kind === 'vault-database-static-role') {
    const entries = tenant.allow.vaultDatabase.filter((e) => e.mount === cred.mount);
    if (!entries.some((e) => e.roles.includes(cred.role)))
      refuse(
        'spec.credential.role',
        'allow.vaultDatabase',
        `Vault database role '${cred.mount}/static-roles/${cred.role}' is not one the tenant may rotate`,
        `add { mount: ${cred.mount}, roles: [${cred.role}] } to allow.vaultDatabase`,
      );
    else if (
      !entries.some((e) => e.roles.includes(cred.role) && (!e.connections || e.connections.includes(cred.connection)))
    )
      refuse(
        'spec.credential.connection',
        'allow.vaultDatabase',
        `Vault database connection '${cred.connection}' is not one the tenant may use`,
        `add ${cred.connection} to the connections of mount ${cred.mount} in allow.vaultDatabase`,
      );
  }

  spec.canaries.forEach((c, i) =>
    canaryRefusals(c, `spec.canaries[${i}]`, tenant, (path, r, m, f) => refuse(path, r, m, f), db),
  );
  return out;
}

type Refuse = (path: string, rule: string, message: string, fix: string) => void;

function canaryRefusals(
  c: Canary,
  path: string,
  tenant: Tenant,
  refuse: Refuse,
  db: (host: string | undefined, port: number | undefined) => { where: string; server: string | undefined },
): void {
  const allow = tenant.allow.canaries;
  const r = 'allow.canaries';
  switch (c.type) {
    case 'command':
      if (!allow.command)
        refuse(
          `${path}.type`,
          `${r}.command`,
          `command canary '${c.name}' would run a program on the worker, which the tenant may not`,
          'set allow.canaries.command: true',
        );
      return;
    case 'http': {
      const url = new URL(c.url);
      if (!allow.http) {
        refuse(
          `${path}.type`,
          `${r}.http`,
          `http canaries are not allowed for the tenant`,
          `add allow.canaries.http with hosts: [${url.hostname}]`,
        );
        return;
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allow.http.allowPlainHttp))
        refuse(
          `${path}.url`,
          `${r}.http.allowPlainHttp`,
          `${url.protocol}// would send the credential unencrypted; only https is allowed`,
          'set allow.canaries.http.allowPlainHttp: true',
        );
      if (url.username || url.password)
        refuse(
          `${path}.url`,
          `${r}.http`,
          'the URL carries user info; credentials go in the header only',
          'not allow it: remove user:password@ from the URL',
        );
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isForbiddenAddress(host))
        refuse(
          `${path}.url`,
          `${r}.http`,
          `${host} is a link-local or cloud metadata address`,
          'not allow it: metadata and link-local addresses are always refused',
        );
      else if (!allow.http.hosts.some((h) => hostMatches(host, h)))
        refuse(
          `${path}.url`,
          `${r}.http.hosts`,
          `host ${host} is not one the tenant's http canaries may call`,
          `add ${host} to allow.canaries.http.hosts`,
        );
      return;
    }
    case 'postgres-login': {
      const { where, server } = db(c.host, c.port);
      if (!server || !allow.postgresLogin?.servers.includes(server))
        refuse(
          `${path}.${c.host ? 'host' : 'type'}`,
          `${r}.postgresLogin`,
          `postgres-login canary to ${where}${server ? ` (server ${server})` : ''} is not allowed; it may only log in to the tenant's servers`,
          `add ${server ?? 'the server (define it under databaseServers first)'} to allow.canaries.postgresLogin.servers`,
        );
      return;
    }
    case 'aws-sts':
      if (!allow.awsSts)
        refuse(
          `${path}.type`,
          `${r}.awsSts`,
          'aws-sts canaries are not allowed for the tenant',
          'add allow.canaries.awsSts: {}',
        );
      else if (c.endpoint && !allow.awsSts.endpoints.includes(c.endpoint))
        refuse(
          `${path}.endpoint`,
          `${r}.awsSts.endpoints`,
          `STS endpoint ${c.endpoint} is not one the tenant may use`,
          `add ${c.endpoint} to allow.canaries.awsSts.endpoints`,
        );
      return;
    case 'kubernetes-job': {
      const k = allow.kubernetesJob;
      if (!k) {
        refuse(
          `${path}.type`,
          `${r}.kubernetesJob`,
          'kubernetes-job canaries are not allowed for the tenant',
          'add allow.canaries.kubernetesJob with contexts, namespaces and images',
        );
        return;
      }
      if (!k.contexts.includes(c.cluster))
        refuse(
          `${path}.cluster`,
          `${r}.kubernetesJob.contexts`,
          `context '${c.cluster}' is not one the tenant's canary Jobs may run in`,
          `add ${c.cluster} to allow.canaries.kubernetesJob.contexts`,
        );
      if (!k.namespaces.includes(c.namespace))
        refuse(
          `${path}.namespace`,
          `${r}.kubernetesJob.namespaces`,
          `namespace '${c.namespace}' is not one the tenant's canary Jobs may run in`,
          `add ${c.namespace} to allow.canaries.kubernetesJob.namespaces`,
        );
      if (!k.images.some((p) => globMatches(c.image, p)))
        refuse(
          `${path}.image`,
          `${r}.kubernetesJob.images`,
          `image '${c.image}' is not one the tenant's canary Jobs may run`,
          `add ${c.image} to allow.canaries.kubernetesJob.images`,
        );
      if (c.serviceAccountName && !k.serviceAccounts.includes(c.serviceAccountName))
        refuse(
          `${path}.serviceAccountName`,
          `${r}.kubernetesJob.serviceAccounts`,
          `service account '${c.serviceAccountName}' is not one the tenant's canary Jobs may use`,
          `add ${c.serviceAccountName} to allow.canaries.kubernetesJob.serviceAccounts`,
        );
      return;
    }
  }
}
