import type { Store } from '../playbook/schema';
import { awsSecretName, awsSecretRegion, normalizeSegments } from './match';

/**
 * The store location a rotation writes, as one key: two playbooks with different secret names but
 * the same Vault path or Secrets Manager secret get the same key, so they cannot rotate at once.
 * An ARN and the secret's name give the same key (the ARN's random 6-character suffix is dropped).
 */
export function storeLockKey(store: Store, defaultRegion: string | undefined): string {
  if (store.type === 'vault') {
    const path = [
      ...(normalizeSegments(store.mount) ?? [store.mount]),
      ...(normalizeSegments(store.path) ?? [store.path]),
    ];
    return `vault/${path.join('/')}`;
  }
  const isArn = store.secretId.startsWith('arn:');
  const name = isArn ? awsSecretName(store.secretId).replace(/-[A-Za-z0-9]{6}$/, '') : store.secretId;
  const region = store.region ?? awsSecretRegion(store.secretId) ?? defaultRegion ?? 'default';
  return `aws/${region}/${name}`;
}

/** Workflow id of the lock a rotation holds on its store location while it runs. */
export function storeLockWorkflowId(key: string): string {
  return `rotor-lock/${key}`;
}
