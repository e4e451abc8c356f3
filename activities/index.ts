import type NodeVault from 'node-vault';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Store } from '../core/playbook/schema';
import type { KubeConfig } from '@kubernetes/client-node';
import { awsBackend } from '../adapters/aws';
import { secretsManagerPerStore } from '../adapters/aws-role';
import { runCanaryCheck, sandboxStatus } from '../adapters/canaries';
import { sandboxFix, sandboxUnavailable } from '../core/policy/rules/command-sandbox';
import { ErrorTypes, permanent } from '../core/failures';
import { planConsumers } from '../adapters/kubernetes/consumers';
import { fleetLists } from '../adapters/kubernetes/fleet-lists';
import type { FleetLists } from '../adapters/kubernetes/fleet-lists';
import { validatePlaybook } from '../core/playbook/validate';
import { compactReaders } from '../core/readers';
import type { CheckedPlaybook } from '../core/playbook/validate';
import { fingerprinter } from '../adapters/fingerprint';
import type { Keyring } from '../adapters/keys';
import { redact } from '../adapters/redact';
import { holdSecret } from '../adapters/secret-scope';
import { kindFor } from '../adapters/credentials/index';
import type { CredentialKinds } from '../adapters/credentials/index';
import { contextOf, createKubeClients } from '../adapters/kubernetes/clients';
import { createClusterBatchActivities } from './cluster-batch';
import { createGateActivities } from './consumer-gate';
import type { SecretStoreBackend } from '../adapters/store';
import type { Policy } from '../core/policy/schema';
import { createAdmissionActivities } from './admission';
import { createIdentityActivities } from './identity';
import { attestationKeys } from '../adapters/controller-attestation';
import { createIncidentActivities } from './incident';
import { keepAlive } from './keep-alive';
import type { AdmissionDeps } from './admission';
import { requireAdmission } from './admitted';
import { admissionKeys } from '../adapters/admission-token';
import type {
  CanaryInput,
  CanaryResult,
  ClusterReaders,
  CreateInput,
  DemoteInput,
  DiscardInput,
  FinalizeInput,
  PlanInput,
  PlanResult,
  PromoteInput,
  ReadersTarget,
  RevokeInput,
  VersionRef,
} from '../core/contracts';
import { vaultBackend } from '../adapters/vault';
import { whileHeartbeating } from '../adapters/heartbeat';
import type { RevocationEvidence } from '../core/status';

/** `null` for a store's "not found"; every other error (transient or not) is rethrown. */
function nothingWhenNotFound(e: unknown): null {
  if (e instanceof ApplicationFailure && e.type === ErrorTypes.secretNotFound) return null;
  throw e;
}

/** Clients the activities use; injected so workers, tests and tools build them from their own config. */
export interface ActivityDeps {
  vault: NodeVault.client;
  secretsManager: SecretsManagerClient;
  /** The client for one AWS store; default: `secretsManager`, or the store's `roleArn` assumed through STS. */
  secretsManagerFor?: (store: Extract<Store, { type: 'aws' }>) => SecretsManagerClient;
  /** HMAC keys for fingerprints, newest first; only workers hold them. */
  fingerprintKeys: Keyring;
  /** Every cluster context playbooks may name; the cluster activities need it. */
  kubeconfig: KubeConfig;
  /** Administers what credentials open (database roles, IAM keys, Vault database roles). */
  credentialKinds: CredentialKinds;
  /** The admin policy (ROTOR_POLICY_FILE) every rotation is checked against at plan. */
  policy: Policy;
  /** The worker's own defaults the policy resolves playbooks against (PGHOST/PGPORT, AWS_REGION). */
  policyDefaults: AdmissionDeps['defaults'];
  /** The bwrap program command canaries are sandboxed with (default: `bwrap` on PATH); tests name a missing one. */
  bwrap?: string;
  /** Who can read the Secret in one cluster (inspect/who-can-read); plan lists none without it. */
  /** Who can read each target's Secret; `lists` are the plan's shared namespaced lists. */
  whoCanRead?: (targets: readonly ReadersTarget[], lists?: FleetLists) => Promise<ClusterReaders[]>;
}

/**
 * The rotation activities a worker registers: `activityImplementations` with every activity that
 * touches a store, a credential's target or a cluster guarded by the admission grant check
 * (activities/admitted.ts), so a crafted input from any Temporal client is refused before it runs.
 */
export function createActivities(deps: ActivityDeps) {
  return requireAdmission(admissionKeys(deps.fingerprintKeys), activityImplementations(deps));
}

/**
 * Builds the rotation activities over injected clients, unguarded: for tests and tools that call
 * them in-process, never for a worker. Inputs and results carry version ids and fingerprints only:
 * values move between stores, targets and clusters inside the activity.
 */
export function activityImplementations(deps: ActivityDeps) {
  const backends = {
    vault: vaultBackend(deps.vault),
    aws: awsBackend(deps.secretsManagerFor ?? secretsManagerPerStore(deps.secretsManager)),
  };
  const backend = (s: Store) => backends[s.type] as SecretStoreBackend;
  const fingerprints = fingerprinter(deps.fingerprintKeys);
  const fp = fingerprints.make;
  // One client cache for delivery, verification and kubernetes-job canaries.
  const kube = createKubeClients(deps.kubeconfig);
  const sandbox = () => sandboxStatus(deps.policy.commandSandbox, { bwrap: deps.bwrap });
  const values = {
    readValue: (store: Store, version: string) => backend(store).readValue(store, version),
    fingerprints,
  };

  // Cluster batches and consumer gates heartbeat their own progress; every other step keeps alive.
  const steps = keepAlive({
    ...createAdmissionActivities({
      policy: deps.policy,
      defaults: deps.policyDefaults,
      keys: admissionKeys(deps.fingerprintKeys),
      attestationKeys: attestationKeys(deps.fingerprintKeys),
      sandboxStatus: sandbox,
    }),
    ...createIdentityActivities(attestationKeys(deps.fingerprintKeys)),
    ...createIncidentActivities(),

    /**
     * Validates a playbook as the workflow received it, so the parsed result (defaults applied,
     * durations in ms) is recorded in history and never recomputed on replay.
     */
    checkPlaybook({ playbook, file }: { playbook: unknown; file: string }): Promise<CheckedPlaybook> {
      return Promise.resolve(validatePlaybook(playbook, file));
    },

    /** Checks consumers, then reads the current version (to fingerprint it) and, per cluster, who can read the Secret. */
    async planRotation({ store, rotation, clusters, compromised }: PlanInput): Promise<PlanResult> {
      // A fleet's plan reads every cluster: heartbeats keep a long one alive, a dead worker's noticed.
      const ctx = Context.current();
      return whileHeartbeating(
        () => ctx.heartbeat(),
        5000,
        async () => {
          // All reads, side by side. Before anything changes: a pod that reads the Secret only at start
          // and whose workload the playbook does not roll out would keep the old value after revoke.
          const { whoCanRead } = deps;
          const targets = clusters ?? [];
          // Pods, ReplicaSets and RBAC objects listed once per apiserver when many targets share one.
          const lists = fleetLists(
            (context) => kube.forContext(context),
            targets.map((c) => ({ context: contextOf(c), namespace: c.namespace })),
          );
          const [consumers, p, readers] = await Promise.all([
            planConsumers(kube, targets, lists),
            backend(store).plan(store, rotation),
            targets.length && whoCanRead ? whoCanRead(targets, lists) : undefined,
          ]);
          // A leaked credential must go even if a consumer breaks: the problems are warnings then.
          if (consumers.problems.length && !compromised) {
            throw permanent(ErrorTypes.consumerNotRolledOut, `nothing was changed:\n${consumers.problems.join('\n')}`);
          }
          return {
            current: { version: p.currentVersion, fingerprint: fp(p.currentValue) },
            previousVersion: p.previousVersion,
            stalePendingVersion: p.stalePendingVersion,
            ...(readers ? { readers: compactReaders(readers) } : {}),
            ...(clusters?.length ? { consumers: consumers.consumers } : {}),
            ...(consumers.problems.length ? { consumerWarnings: consumers.problems } : {}),
          };
        },
      );
    },

    async createPendingVersion({ store, credential, rotation, currentVersion }: CreateInput): Promise<VersionRef> {
      const b = backend(store);
      // The credential is made real at its target only when the store has no version of this run
      // yet, so a retry after a lost reply does not change the target again.
      const version = await b.createPending(store, rotation, currentVersion, async () =>
        kindFor(deps.credentialKinds, credential)
          .create(credential, { currentValue: await b.readValue(store, currentVersion), rotation })
          .then(holdSecret),
      );
      return { version, fingerprint: fp(await b.readValue(store, version)) };
    },

    async discardPendingVersion(input: DiscardInput): Promise<void> {
      const { store, credential, rotation } = input;
      const b = backend(store);
      const pending = input.pendingVersion ?? (await b.runVersion(store, rotation));
      // The target is undone first, while the pending value can still be read from the store. Only
      // "not found" (never written, or already destroyed by an earlier attempt) means nothing to
      // undo there; any other read error fails this attempt before the stored copy is destroyed,
      // since a new IAM key or an unlocked role may still be alive.
      const pendingValue = pending ? await b.readValue(store, pending).catch(nothingWhenNotFound) : null;
      if (pendingValue !== null) {
        const currentValue = await b.readValue(store, input.currentVersion);
        await kindFor(deps.credentialKinds, credential).discard(credential, { pendingValue, currentValue, rotation });
      }
      await b.discardPending(store, input);
    },

    /** The kind's target switches first (a CA's default issuer), then the store's current version. */
    async promoteVersion(input: PromoteInput): Promise<void> {
      const { store, credential } = input;
      const kind = credential ? kindFor(deps.credentialKinds, credential) : undefined;
      if (credential && kind?.promote) {
        const b = backend(store);
        const [pendingValue, currentValue] = await Promise.all([
          b.readValue(store, input.pendingVersion),
          b.readValue(store, input.currentVersion),
        ]);
        await kind.promote(credential, { pendingValue, currentValue });
      }
      await backend(store).promote(store, input);
    },

    async demoteVersion(input: DemoteInput): Promise<void> {
      const { store, credential } = input;
      await backend(store).demote(store, input);
      const kind = credential ? kindFor(deps.credentialKinds, credential) : undefined;
      if (credential && kind?.demote) {
        const b = backend(store);
        // The pending value may be gone already (its undo ran): only the old one is needed then.
        const [pendingValue, currentValue] = await Promise.all([
          b.readValue(store, input.pendingVersion).catch(() => ''),
          b.readValue(store, input.currentVersion),
        ]);
        await kind.demote(credential, { pendingValue, currentValue });
      }
    },

    /**
     * Fails OldCredentialStillInUse, changing nothing, while the kind says the old credential is
     * still needed. Returns what it checked (a result, so a completion from outside without one is refused).
     */
    async checkOldUnused(input: RevokeInput): Promise<{ unused: true }> {
      const { store, credential } = input;
      const kind = kindFor(deps.credentialKinds, credential);
      if (!kind.stillInUse) return { unused: true };
      const b = backend(store);
      const [oldValue, currentValue] = await Promise.all([
        b.readValue(store, input.revokedVersion),
        b.readValue(store, input.currentVersion),
      ]);
      const inUse = await kind.stillInUse(credential, { oldValue, currentValue });
      if (inUse) throw permanent(ErrorTypes.oldCredentialInUse, `nothing was revoked: ${inUse}`);
      return { unused: true };
    },

    /** Revokes the old credential at its target, proves it is refused, then marks it revoked in the store. */
    async revokeVersion(input: RevokeInput): Promise<RevocationEvidence> {
      const { store, credential, rotation } = input;
      const b = backend(store);
      const [oldValue, currentValue] = await Promise.all([
        b.readValue(store, input.revokedVersion),
        b.readValue(store, input.currentVersion),
      ]);
      const kind = kindFor(deps.credentialKinds, credential);
      const evidence = await kind.revoke(credential, { oldValue, currentValue, rotation });
      if (evidence.rejected) await b.revoke(store, input);
      const hidden = kind.secretParts
        ? [oldValue, currentValue].flatMap((v) => kind.secretParts?.(v) ?? [v])
        : [oldValue, currentValue];
      return { rejected: evidence.rejected, detail: redact(evidence.detail, hidden) };
    },

    async finalizeRotation(input: FinalizeInput): Promise<void> {
      await backend(input.store).finalize(input.store, input);
    },

    async runCanary({ store, version, canary }: CanaryInput): Promise<CanaryResult> {
      const started = Date.now();
      // Admission refused this already; a worker that lost the sandbox since must not run the hook bare.
      if (canary.type === 'command' && deps.policy.commandSandbox.type === 'bubblewrap') {
        const s = await sandbox();
        if (!s.usable)
          throw permanent(
            ErrorTypes.commandSandboxUnavailable,
            `${sandboxUnavailable(canary.name, s.reason)}: ${sandboxFix}`,
          );
      }
      const credential = await backend(store).readValue(store, version);
      const ctx = Context.current();
      // Heartbeats let a restarted worker retry a canary whose worker died, within the heartbeat timeout.
      const { ok, detail } = await whileHeartbeating(
        () => ctx.heartbeat(),
        2000,
        () =>
          runCanaryCheck(canary, credential, ctx.cancellationSignal, {
            kube,
            vault: deps.vault,
            commandEnv: deps.policy.canaryEnv,
            commandSandbox: deps.policy.commandSandbox,
            ...(deps.bwrap ? { bwrap: deps.bwrap } : {}),
          }),
      );
      // A cancelled attempt (its worker shutting down past the grace, or a cancel from the server) is
      // no verdict on the credential: it ends as a cancellation, which Temporal retries on another
      // worker, instead of a CanaryFailed that would roll the rotation back.
      if (ctx.cancellationSignal.aborted) throw cancellationOf(ctx.cancellationSignal, canary.name);
      const result = { name: canary.name, ok, detail, durationMs: Date.now() - started };
      if (!ok) throw permanent(ErrorTypes.canaryFailed, `canary '${canary.name}' failed: ${detail}`);
      return result;
    },
  });
  return { ...steps, ...createClusterBatchActivities(kube, values), ...createGateActivities(kube, values) };
}

/** The reason an activity's cancellation signal carries, or a CancelledFailure naming the canary. */
function cancellationOf(signal: AbortSignal, canary: string): unknown {
  return signal.reason instanceof Error ? signal.reason : new CancelledFailure(`canary '${canary}' cancelled`);
}

export type RotationActivities = ReturnType<typeof activityImplementations>;
