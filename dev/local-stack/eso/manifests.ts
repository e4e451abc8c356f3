import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubernetesObject, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { devCredentials, ports } from '../config';

/** Namespace holding the credential Secrets the ClusterSecretStores reference. */
export const esoNamespace = 'external-secrets';

/** Names of the ClusterSecretStores created in every cluster. */
export const storeNames = { vault: 'vault', aws: 'aws' } as const;
export type StoreName = (typeof storeNames)[keyof typeof storeNames];

/** Secrets (in {@link esoNamespace}) holding the stores' credentials, and their keys. */
export const credentialSecrets = {
  vault: { name: 'vault-token', tokenKey: 'token' },
  aws: { name: 'aws-credentials', accessKeyIdKey: 'access-key-id', secretAccessKeyKey: 'secret-access-key' },
} as const;

/** API group/version of ESO's stores and external secrets served by v0.20. */
export const esoApiVersion = 'external-secrets.io/v1';

/** A CustomResourceDefinition as parsed from YAML; only the fields the stack touches are typed. */
export interface CrdManifest extends KubernetesObject {
  apiVersion: string;
  kind: 'CustomResourceDefinition';
  metadata: { name: string; [key: string]: unknown };
  spec: { conversion?: unknown; [key: string]: unknown };
}

function isCrd(doc: unknown): doc is CrdManifest {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown }; spec?: unknown };
  return (
    typeof d.apiVersion === 'string' &&
    d.kind === 'CustomResourceDefinition' &&
    typeof d.metadata?.name === 'string' &&
    typeof d.spec === 'object'
  );
}

/**
 * ESO's CRDs from its multi-document bundle, made applicable without ESO's webhook: any
 * `spec.conversion` (the Helm chart points it at the webhook) becomes strategy None. Setting None
 * explicitly, instead of dropping the field, also overrides a webhook a previous install left behind.
 */
export function loadCrds(bundleFile: string): CrdManifest[] {
  const crds: CrdManifest[] = [];
  for (const doc of parseAllDocuments(readFileSync(bundleFile, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${bundleFile}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isCrd(value)) throw new Error(`${bundleFile}: unexpected document (not a CustomResourceDefinition)`);
    crds.push({ ...value, spec: { ...value.spec, conversion: { strategy: 'None' } } });
  }
  if (crds.length === 0) throw new Error(`${bundleFile}: no CustomResourceDefinitions found`);
  return crds;
}

/** The namespace and credential Secrets the stores reference. */
export function credentialObjects(): [V1Namespace, V1Secret, V1Secret] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: esoNamespace } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: credentialSecrets.vault.name, namespace: esoNamespace },
      type: 'Opaque',
      stringData: { [credentialSecrets.vault.tokenKey]: devCredentials.vaultToken },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: credentialSecrets.aws.name, namespace: esoNamespace },
      type: 'Opaque',
      stringData: {
        [credentialSecrets.aws.accessKeyIdKey]: devCredentials.awsAccessKeyId,
        [credentialSecrets.aws.secretAccessKeyKey]: devCredentials.awsSecretAccessKey,
      },
    },
  ];
}

/**
 * The two ClusterSecretStores; `revalidateStamp` (any fresh string) forces ESO to revalidate them now.
 * Credential refs name their namespace explicitly: without it a
 * ClusterSecretStore resolves them in each ExternalSecret's namespace ("referent" auth) and ESO
 * then skips validating the store, so it would never report Ready.
 */
export function clusterSecretStores(revalidateStamp?: string): KubernetesObject[] {
  // Any metadata change makes ESO reconcile the store at once, skipping the up-to-7-minute backoff
  // it accumulated while Vault or moto was down.
  const annotations = revalidateStamp ? { annotations: { 'rotor.dev/revalidate': revalidateStamp } } : {};
  const vault = {
    apiVersion: esoApiVersion,
    kind: 'ClusterSecretStore',
    metadata: { name: storeNames.vault, ...annotations },
    spec: {
      provider: {
        vault: {
          server: `http://127.0.0.1:${ports.vault}`,
          path: 'secret',
          version: 'v2',
          auth: {
            tokenSecretRef: {
              name: credentialSecrets.vault.name,
              namespace: esoNamespace,
              key: credentialSecrets.vault.tokenKey,
            },
          },
        },
      },
    },
  };
  // v0.20 has no endpoint field in the AWS provider: the controller's AWS_SECRETSMANAGER_ENDPOINT points it at moto.
  const aws = {
    apiVersion: esoApiVersion,
    kind: 'ClusterSecretStore',
    metadata: { name: storeNames.aws, ...annotations },
    spec: {
      provider: {
        aws: {
          service: 'SecretsManager',
          region: devCredentials.awsRegion,
          auth: {
            secretRef: {
              accessKeyIDSecretRef: {
                name: credentialSecrets.aws.name,
                namespace: esoNamespace,
                key: credentialSecrets.aws.accessKeyIdKey,
              },
              secretAccessKeySecretRef: {
                name: credentialSecrets.aws.name,
                namespace: esoNamespace,
                key: credentialSecrets.aws.secretAccessKeyKey,
              },
            },
          },
        },
      },
    },
  };
  return [vault, aws];
}
