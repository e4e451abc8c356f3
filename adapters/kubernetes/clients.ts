/**
 * Kubernetes clients per kubeconfig context. Each playbook cluster names a context (its `context`,
 * else its name); clients per context are made once and reused.
 */
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { ErrorTypes, permanent } from '../../core/failures';
import type { ClusterTarget } from '../../core/playbook/schema';
import { isLoopback } from '../loopback';
import { refusePlaintext } from '../plaintext';
import { BoundedKubeConfig } from './bounded-kubeconfig';
import { tokenFileAuthenticator, tokenFilesOf, withTokenFiles } from './token-file';

/**
 * The kubeconfig the worker uses: `KUBECONFIG` (one file or a colon-separated list, merged), else
 * ~/.kube/config or the in-cluster service account, as kubectl resolves it. Credentials that rotate
 * are read again: token files when they change (token-file.ts), client certificate files and the
 * in-cluster token by client-node on use, exec plugins when their credential expires. Each API
 * call waits at most ROTOR_REQUEST_TIMEOUT_MS for its answer (bounded-kubeconfig.ts).
 */
export function loadKubeconfig(): KubeConfig {
  const loaded = new KubeConfig();
  loaded.loadFromDefault();
  refuseUnverifiedClusters(loaded);
  const kc = new BoundedKubeConfig();
  kc.loadFromOptions({
    clusters: loaded.clusters,
    users: withTokenFiles(loaded.users, tokenFilesOf(process.env)),
    contexts: loaded.contexts,
    currentContext: loaded.getCurrentContext(),
  });
  kc.addAuthenticator(tokenFileAuthenticator);
  return kc;
}

/** A copy of `base` whose current context is `context`, leaving `base` untouched (it is shared). */
export function pinContext(base: KubeConfig, context: string): KubeConfig {
  const kc = new BoundedKubeConfig();
  kc.loadFromOptions({ clusters: base.clusters, users: base.users, contexts: base.contexts, currentContext: context });
  kc.addAuthenticator(tokenFileAuthenticator);
  return kc;
}

/**
 * A kubeconfig cluster with `insecure-skip-tls-verify` is refused unless its server is on this
 * machine (a dev stack): nothing a kubeconfig says may turn verification off for a real apiserver.
 */
export function refuseUnverifiedClusters(kc: KubeConfig): void {
  for (const c of kc.clusters) {
    refusePlaintext(`kubeconfig cluster '${c.name}' server`, c.server, 'tokens, client certificates and Secrets');
    if (!c.skipTLSVerify) continue;
    let host: string;
    try {
      host = new URL(c.server).hostname;
    } catch {
      host = '';
    }
    if (!isLoopback(host))
      throw new Error(
        `kubeconfig cluster '${c.name}' (server ${c.server}) sets insecure-skip-tls-verify: rotor verifies every ` +
          'apiserver beyond this machine. Remove it and give the cluster certificate-authority or certificate-authority-data',
      );
  }
}

/** The API clients of one context. */
export interface Clients {
  context: string;
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  apps: AppsV1Api;
  batch: BatchV1Api;
  rbac: RbacAuthorizationV1Api;
  /** SubjectAccessReviews (who can read, doctor). */
  authz: AuthorizationV1Api;
}

/** The kubeconfig context a playbook cluster is reached through. */
export function contextOf(cluster: Pick<ClusterTarget, 'name' | 'context'>): string {
  return cluster.context ?? cluster.name;
}

/** `cluster a (context x)`: how messages name a cluster. */
export function whereOf(cluster: Pick<ClusterTarget, 'name' | 'context'>): string {
  const context = contextOf(cluster);
  return `cluster ${cluster.name}${context !== cluster.name ? ` (context ${context})` : ''}`;
}

/** Clients for any context of one kubeconfig, built on first use. */
export interface KubeClients {
  /** The kubeconfig every context comes from. */
  kubeconfig: KubeConfig;
  /** Clients of a context; fails DeliveryMisconfigured naming the known contexts when there is none. */
  forContext(context: string): Clients;
}

/** The kubeconfig's context names, for errors that name what the user could have meant. */
export function contextNames(kubeconfig: KubeConfig): string {
  return (
    kubeconfig
      .getContexts()
      .map((c) => c.name)
      .join(', ') || 'none'
  );
}

/**
 * The clients of one context of `kubeconfig` (the one client set rotor has); fails
 * DeliveryMisconfigured naming the contexts the kubeconfig has when there is no such context.
 */
export function clientsFor(kubeconfig: KubeConfig, context: string): Clients {
  if (!kubeconfig.getContextObject(context)) {
    throw permanent(
      ErrorTypes.deliveryMisconfigured,
      `kubeconfig has no context '${context}' (it has: ${contextNames(kubeconfig)}); set clusters[].context or point KUBECONFIG at the right file`,
    );
  }
  const kc = pinContext(kubeconfig, context);
  return {
    context,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
  };
}

/** Builds the per-context client cache over a kubeconfig. */
export function createKubeClients(kubeconfig: KubeConfig): KubeClients {
  const cache = new Map<string, Clients>();
  return {
    kubeconfig,
    forContext(context) {
      const clients = cache.get(context) ?? clientsFor(kubeconfig, context);
      cache.set(context, clients);
      return clients;
    },
  };
}
