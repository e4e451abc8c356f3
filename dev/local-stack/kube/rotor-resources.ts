import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { manifestFiles } from '../../crds';
import { applyCrds, applyObjects } from '../eso/kube';
import type { CrdManifest } from '../eso/manifests';

/** The management cluster of the stack: where rotor's resources and their admission policy live. */
export const managementCluster = 'cluster-a';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

function documents(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(join(repoRoot, file), 'utf8'))
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
}

/**
 * Applies rotor's CRDs (waiting until they are Established) and the requester-identity admission
 * policy, as the chart ships them (dev/crds.ts generates both). Server-side apply: idempotent.
 */
export async function applyRotorResources(kc: KubeConfig): Promise<void> {
  await applyCrds(kc, documents(manifestFiles.crds) as CrdManifest[]);
  await applyObjects(kc, documents(manifestFiles.identityPolicy));
}
