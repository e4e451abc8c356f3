/**
 * One cluster's delivery and dual-read verification over the real adapters, for tests that drive
 * a single cluster (kubernetes-delivery.test.ts). Rotations run the same adapters through the
 * batched cluster activity (activities/cluster-batch.ts). Values are read from the store and never
 * logged, returned or put in an error message.
 */
import { Context } from '@temporalio/activity';
import type { KubeClients } from '../../adapters/kubernetes/clients';
import { deliverEso } from '../../adapters/kubernetes/eso';
import { deliverPush } from '../../adapters/kubernetes/push';
import type { ValueAccess } from '../../adapters/kubernetes/values';
import { versionValues } from '../../adapters/kubernetes/values';
import { verifyCluster } from '../../adapters/kubernetes/verify';
import type { ClusterInput, ClusterReport } from '../../core/contracts';

/** One cluster's steps over injected Kubernetes clients and store access. */
export function clusterSteps(kube: KubeClients, access: ValueAccess) {
  const values = versionValues(access);
  return {
    /**
     * Makes the cluster serve `input.versions`: current under `currentKey`, other under `otherKey`
     * (absent when other is null). push: server-side applies the Secret; eso: pins the feeding
     * ExternalSecrets' remote refs to the versions and forces a refresh; observe: writes nothing.
     * Idempotent. Fails DeliveryMisconfigured / PermissionDenied (non-retryable) with what to fix.
     */
    async deliverToCluster(input: ClusterInput): Promise<void> {
      if (input.cluster.delivery === 'push') await deliverPush(kube, values, input);
      else if (input.cluster.delivery === 'eso') await deliverEso(kube, input);
    },

    /**
     * Waits, watching the Secret, until the cluster reads back exactly `input.versions`
     * (heartbeating, honouring cancellation); fails ClusterNotConverged after `cluster.timeout`.
     */
    async verifyCluster(input: ClusterInput): Promise<ClusterReport> {
      return verifyCluster(kube, access.fingerprints, input, Context.current());
    },
  };
}
