/**
 * The consumer gate as one activity over every cluster of the rotation (bounded parallelism,
 * heartbeating what each cluster still waits for). Values are read from the store once, checked
 * against the planned fingerprints, and only used to compute digests in memory.
 */
import { Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import type { KubeClients } from '../adapters/kubernetes/clients';
import { contextOf } from '../adapters/kubernetes/clients';
import { fleetLists } from '../adapters/kubernetes/fleet-lists';
import { gateCluster } from '../adapters/kubernetes/consumer-gate';
import type { GateValues } from '../adapters/kubernetes/consumer-gate';
import { errorText } from '../adapters/kubernetes/errors';
import type { ValueAccess } from '../adapters/kubernetes/values';
import { versionValues } from '../adapters/kubernetes/values';
import { redact } from '../adapters/redact';
import { parsePrivateJwk } from '../adapters/credentials/jwk';
import { parseCaCert } from '../adapters/credentials/vault-pki-ca-pem';
import { whileHeartbeating } from '../adapters/heartbeat';
import type { GateInput, GateOutcome, GateReport } from '../core/gate';

/** Builds the consumer-gate activity over injected Kubernetes clients and store access. */
export function createGateActivities(kube: KubeClients, access: ValueAccess) {
  const values = versionValues(access);
  return {
    /**
     * Gates every cluster of `input` (see adapters/kubernetes/consumer-gate) and reports each one
     * ok or not, naming the pods still waited for; never throws for a cluster that did not pass.
     */
    async consumerGate(input: GateInput): Promise<GateReport> {
      const ctx = Context.current();
      const { store, current, other } = input.versions;
      const held: GateValues = {
        current: { version: current.version, value: await values.valueOf(store, current, 'consumer gate') },
        other: other ? { version: other.version, value: await values.valueOf(store, other, 'consumer gate') } : null,
      };
      // Readers of the published ConfigMap must hold both versions' public ids: a JWKS verifier
      // their kids, a trust-bundle reader their CA fingerprints.
      if (input.readers) {
        const holds = input.readers.holds;
        held.readerIds = [held.current, ...(held.other ? [held.other] : [])].map((v) => {
          const what = `the value of version ${v.version}`;
          return holds === 'kid' ? parsePrivateJwk(v.value, what).kid : parseCaCert(v.value, what).fingerprint;
        });
      }
      const secrets = [held.current.value, ...(held.other ? [held.other.value] : [])];
      const waiting = new Map<string, string>();
      const limit = pLimit(Math.max(1, input.parallelism));
      // The first look at every cluster comes from lists shared per apiserver; only clusters with
      // consumer pods to wait for list their namespace again.
      const lists = fleetLists(
        (context) => kube.forContext(context),
        input.clusters.map((c) => ({ context: contextOf(c), namespace: c.namespace })),
      );
      const beat = () => ctx.heartbeat({ waiting: Object.fromEntries(waiting) });
      return whileHeartbeating(beat, 1000, async () => {
        const outcomes = await Promise.all(
          input.clusters.map((cluster) =>
            limit(async (): Promise<GateOutcome> => {
              const started = Date.now();
              try {
                return await gateCluster(
                  kube,
                  input,
                  cluster,
                  held,
                  ctx.cancellationSignal,
                  (w) => waiting.set(cluster.name, w),
                  lists,
                );
              } catch (e) {
                if (ctx.cancellationSignal.aborted) throw e;
                const error = redact(e instanceof Error ? e.message : errorText(e), secrets);
                return {
                  cluster: cluster.name,
                  ok: false,
                  pods: 0,
                  reported: 0,
                  settled: 0,
                  restarted: 0,
                  waitedMs: Date.now() - started,
                  detail: `${cluster.name}: ${error}`,
                };
              } finally {
                waiting.delete(cluster.name);
              }
            }),
          ),
        );
        return { step: input.step, outcomes };
      });
    },
  };
}

/** The consumer-gate activity, as the rotation workflow calls it. */
export type GateActivities = ReturnType<typeof createGateActivities>;
