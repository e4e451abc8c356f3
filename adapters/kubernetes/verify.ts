/**
 * Dual-read verification: watches a cluster's Secret (and, for eso, its ExternalSecrets) until it
 * holds exactly the expected versions, compared by keyed fingerprint; never by value.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { ClusterInput, ClusterReport, ClusterVersions, VersionRef } from '../../core/contracts';
import { ErrorTypes, permanent } from '../../core/failures';
import { esoApiVersion, esoGroup, esoVersion, externalSecretsPlural } from '../../core/ids';
import type { Fingerprinter } from '../fingerprint';
import type { KubeClients } from './clients';
import { contextOf, whereOf } from './clients';
import { findExternalSecrets } from './eso';
import { syncState } from './eso-objects';
import type { ExternalSecret } from './eso-objects';
import { kubeFailure, statusCode } from './errors';
import { rollOut } from './rollout';
import { tlsLayoutProblems } from './tls-secret';
import { waitForObject } from './watch';
import type { WatchRestart } from './watch';
import { whileHeartbeating } from '../heartbeat';

const defaultVerifyTimeoutMs = 120_000;

class ConvergenceTimeout extends Error {}

/** What a long wait needs from its caller: heartbeats and cancellation (an activity's context). */
export interface ActivityHooks {
  heartbeat(details: unknown): void;
  cancellationSignal: AbortSignal;
}

interface SecretCheck {
  ok: boolean;
  /** Key names and whether each fingerprint matched; never values or fingerprints of unrelated keys. */
  summary: string;
  observed: Record<string, string>;
}

export function checkSecret(
  secret: V1Secret | undefined,
  v: ClusterVersions,
  fingerprints: Fingerprinter,
): SecretCheck {
  if (!secret) return { ok: false, summary: 'Secret does not exist', observed: {} };
  const data = secret.data ?? {};
  const observed: Record<string, string> = {};
  const parts: string[] = [];
  let ok = true;
  const expect = (key: string, ref: VersionRef, alt: VersionRef | null) => {
    const raw = data[key];
    if (raw === undefined) {
      ok = false;
      parts.push(`${key}: missing (expected version ${ref.version})`);
      return;
    }
    const value = Buffer.from(raw, 'base64').toString('utf8');
    observed[key] = fingerprints.make(value);
    // Recomputed under each ref's own key: a run planned before a fingerprint-key rotation still verifies.
    if (fingerprints.matches(value, ref.fingerprint)) {
      parts.push(`${key}: matches version ${ref.version}`);
      return;
    }
    ok = false;
    parts.push(
      `${key}: does not match version ${ref.version}${alt && fingerprints.matches(value, alt.fingerprint) ? ` (holds version ${alt.version})` : ''}`,
    );
  };
  expect(v.currentKey, v.current, v.other);
  if (v.other) expect(v.otherKey, v.other, v.current);
  else if (data[v.otherKey] !== undefined) {
    ok = false;
    parts.push(`${v.otherKey}: present, expected absent`);
  }
  const layout = tlsLayoutProblems(secret, v);
  if (layout.length > 0) {
    ok = false;
    parts.push(...layout);
  } else if (v.secretType) parts.push(`${v.secretType}: serves version ${v.current.version}`);
  return { ok, summary: parts.join('; '), observed };
}

/**
 * Waits, watching the Secret, until it holds exactly the expected rotation keys with the expected
 * fingerprints (and, for eso, every feeding ExternalSecret reports it synced its current spec).
 * Heartbeats while waiting and honours cancellation; after `cluster.timeout` (default 2 min) fails
 * ClusterNotConverged with what was last observed. With a rollout token, then rolls out the
 * cluster's workloads and waits for them.
 */
export async function verifyCluster(
  kube: KubeClients,
  fingerprints: Fingerprinter,
  input: ClusterInput,
  ctx?: ActivityHooks,
): Promise<ClusterReport> {
  const { cluster, versions } = input;
  const started = Date.now();
  const where = whereOf(cluster);
  const { kc, core, custom } = kube.forContext(contextOf(cluster));
  const { namespace, secretName } = cluster;
  const timeoutMs = cluster.timeout ?? defaultVerifyTimeoutMs;

  const deadline = new AbortController();
  const stop = new AbortController();
  const timer = setTimeout(() => deadline.abort(new ConvergenceTimeout()), timeoutMs);
  const signal = AbortSignal.any([deadline.signal, stop.signal, ...(ctx ? [ctx.cancellationSignal] : [])]);
  let lastSecret = 'not read yet';
  let lastWatchRestart: string | undefined;
  const lastEs = new Map<string, string>();
  const onRestart = (r: WatchRestart) => {
    if (r.reason !== 'ended') lastWatchRestart = `${r.reason}${r.detail ? `: ${r.detail}` : ''}`;
  };
  const progress = () => ({
    cluster: cluster.name,
    secret: `${namespace}/${secretName}`,
    lastObserved: lastSecret,
    externalSecrets: Object.fromEntries(lastEs),
  });
  const beat = () => ctx?.heartbeat(progress());

  try {
    return await whileHeartbeating(beat, 2000, async () => {
      const esNames =
        cluster.delivery === 'eso'
          ? (await findExternalSecrets(kube, cluster)).map((es) => es.metadata?.name ?? '')
          : [];
      const secretWait = waitForObject<V1Secret, SecretCheck>(
        {
          kubeconfig: kc,
          path: `/api/v1/namespaces/${namespace}/secrets`,
          name: secretName,
          // A GET, not a list: rotor's Role grants get/watch on its one Secret and never `list` on Secrets.
          list: async () => {
            try {
              const secret = await core.readNamespacedSecret({ name: secretName, namespace });
              return { items: [secret], metadata: { resourceVersion: secret.metadata?.resourceVersion } };
            } catch (e) {
              if (statusCode(e) === 404) return { items: [], metadata: {} };
              throw e;
            }
          },
        },
        (secret) => {
          const check = checkSecret(secret, versions, fingerprints);
          lastSecret = check.summary;
          return check.ok ? check : undefined;
        },
        { signal, onRestart },
      );
      const esWaits = esNames.map((name) =>
        waitForObject<ExternalSecret, true>(
          {
            kubeconfig: kc,
            path: `/apis/${esoApiVersion}/namespaces/${namespace}/${externalSecretsPlural}`,
            name,
            // A GET, as for the Secret: rotor's Role grants get/watch/patch on the named ExternalSecrets, not `list`.
            list: async () => {
              try {
                const es = (await custom.getNamespacedCustomObject({
                  group: esoGroup,
                  version: esoVersion,
                  namespace,
                  plural: externalSecretsPlural,
                  name,
                })) as ExternalSecret & { metadata?: { resourceVersion?: string } };
                return { items: [es], metadata: { resourceVersion: es.metadata?.resourceVersion } };
              } catch (e) {
                if (statusCode(e) === 404) return { items: [], metadata: {} };
                throw e;
              }
            },
          },
          (es) => {
            if (!es) {
              lastEs.set(name, `ExternalSecret ${name}: does not exist`);
              return undefined;
            }
            const state = syncState(es);
            lastEs.set(name, state.summary);
            return state.synced ? true : undefined;
          },
          { signal, onRestart },
        ),
      );
      const [secret] = await Promise.all([secretWait, ...esWaits]);
      // Only now that the Secret reads back right: a rollout started earlier would restart pods onto stale values.
      const rolledOutWorkloads = input.rolloutToken
        ? await rollOut(kube, input, input.rolloutToken, signal, onRestart, (w, state) => lastEs.set(w, state))
        : [];
      const pendingRollouts = input.rolloutToken ? [] : cluster.workloads.map((w) => `${w.kind}/${w.name}`);
      const notes = pendingRollouts.length
        ? [`workloads not rolled out at this step (${pendingRollouts.join(', ')})`]
        : [];
      return {
        cluster: cluster.name,
        observed: secret.observed,
        rolledOutWorkloads,
        pendingRollouts,
        externalSecrets: esNames,
        convergedAfterMs: Date.now() - started,
        notes,
      };
    });
  } catch (e) {
    if (deadline.signal.aborted && e === deadline.signal.reason) {
      const es = [...lastEs.values()];
      throw permanent(
        ErrorTypes.clusterNotConverged,
        `${where}: secret ${namespace}/${secretName} did not converge within ${Math.round(timeoutMs / 1000)}s; last observed: ${lastSecret}` +
          (es.length ? `; ${es.join('; ')}` : '') +
          (lastWatchRestart ? `; last watch problem: ${lastWatchRestart}` : ''),
      );
    }
    if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason as Error;
    throw kubeFailure(e, where, 'watch', `secret ${namespace}/${secretName}`);
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}
