import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApplicationFailure } from '@temporalio/common';
import type { Store } from '../core/playbook/schema';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../core/failures';
import { awsThrottle } from './aws-throttle';
import type { SecretStoreBackend } from './store';
import { holdSecret } from './secret-scope';

type AwsStore = Extract<Store, { type: 'aws' }>;

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const PREVIOUS = 'AWSPREVIOUS';

function awsFailure(e: unknown, what: string, s: AwsStore): Error {
  const name = (e as { name?: string }).name ?? 'Error';
  const where = `aws secret ${s.secretId}${s.roleArn ? ` (as ${s.roleArn})` : ''}`;
  if (name === 'ResourceNotFoundException')
    return permanent(
      ErrorTypes.secretNotFound,
      // Also what a store that lost its data says (an in-memory emulator restarted, a deleted secret).
      `${where}: not found while trying to ${what}; create it first or fix spec.secret.store.secretId ` +
        '(if it existed before, it was deleted or the store lost its data: restore it with its version ids)',
    );
  if (name === 'AccessDeniedException' || name === 'AccessDenied')
    return permanent(
      ErrorTypes.permissionDenied,
      `${where}: access denied to ${what}; grant ${s.roleArn ? 'that role' : "the worker's IAM identity"} that action`,
    );
  if (name === 'InvalidParameterException' || name === 'InvalidRequestException') {
    return permanent(ErrorTypes.invalidInput, `${where}: ${name} while trying to ${what}`);
  }
  const slowDown = awsThrottle(e, where, what);
  if (slowDown) return slowDown;
  // AWS error messages describe the request, not the secret string; keep only the error name and text.
  return retryable(RetryableErrorTypes.aws, `${where}: failed to ${what}: ${name}: ${(e as Error).message ?? ''}`);
}

/**
 * AWS Secrets Manager store: versions are VersionIds, state is the AWSCURRENT/AWSPENDING/AWSPREVIOUS
 * staging labels — the same model AWS's own rotation Lambdas use.
 */
export function awsBackend(
  clients: SecretsManagerClient | ((s: AwsStore) => SecretsManagerClient),
): SecretStoreBackend<AwsStore> {
  // One client for every store, or one per store (a store's `roleArn` is assumed through STS).
  const sm = (s: AwsStore) => (typeof clients === 'function' ? clients(s) : clients);
  async function stages(s: AwsStore): Promise<Record<string, string[]>> {
    try {
      const d = await sm(s).send(new DescribeSecretCommand({ SecretId: s.secretId }));
      return d.VersionIdsToStages ?? {};
    } catch (e) {
      throw awsFailure(e, 'describe it', s);
    }
  }
  const holder = (all: Record<string, string[]>, label: string) =>
    Object.keys(all).find((v) => all[v]?.includes(label)) ?? null;

  async function moveLabel(s: AwsStore, label: string, to: string | null, from: string | null): Promise<void> {
    if (to === from) return;
    try {
      await sm(s).send(
        new UpdateSecretVersionStageCommand({
          SecretId: s.secretId,
          VersionStage: label,
          ...(to ? { MoveToVersionId: to } : {}),
          ...(from ? { RemoveFromVersionId: from } : {}),
        }),
      );
    } catch (e) {
      throw awsFailure(e, `move ${label}`, s);
    }
  }

  async function getString(s: AwsStore, version: string): Promise<string> {
    try {
      const res = await sm(s).send(new GetSecretValueCommand({ SecretId: s.secretId, VersionId: version }));
      if (res.SecretString === undefined)
        throw permanent(
          ErrorTypes.invalidInput,
          `aws secret ${s.secretId}: version ${version} is binary; rotor rotates SecretString secrets`,
        );
      return holdSecret(res.SecretString);
    } catch (e) {
      if (e instanceof ApplicationFailure) throw e;
      throw awsFailure(e, `read version ${version}`, s);
    }
  }

  function field(s: AwsStore, raw: string, version: string): string {
    if (!s.key) return raw;
    let doc: unknown;
    try {
      doc = JSON.parse(raw);
    } catch {
      throw permanent(
        ErrorTypes.invalidInput,
        `aws secret ${s.secretId}: version ${version} is not a JSON object, but spec.secret.store.key is set`,
      );
    }
    const value = (doc as Record<string, unknown>)[s.key];
    if (typeof value !== 'string')
      throw permanent(
        ErrorTypes.secretNotFound,
        `aws secret ${s.secretId}: version ${version} has no string field '${s.key}'`,
      );
    return value;
  }

  async function tag(s: AwsStore, key: string, value: string): Promise<void> {
    try {
      await sm(s).send(new TagResourceCommand({ SecretId: s.secretId, Tags: [{ Key: key, Value: value }] }));
    } catch (e) {
      throw awsFailure(e, `tag ${key}`, s);
    }
  }

  return {
    async readValue(s, version) {
      return field(s, await getString(s, version), version);
    },

    async plan(s) {
      const all = await stages(s);
      const currentVersion = holder(all, CURRENT);
      if (!currentVersion)
        throw permanent(
          ErrorTypes.secretNotFound,
          `aws secret ${s.secretId} has no AWSCURRENT version; put an initial value first`,
        );
      return {
        currentVersion,
        currentValue: field(s, await getString(s, currentVersion), currentVersion),
        previousVersion: holder(all, PREVIOUS),
        stalePendingVersion: holder(all, PENDING),
      };
    },

    async createPending(s, rotation, currentVersion, value) {
      // The run id is the ClientRequestToken, so the version id is stable across retries.
      const token = rotation.runId;
      const all = await stages(s);
      const stalePending = holder(all, PENDING);
      if (token in all) {
        if (stalePending !== token) await moveLabel(s, PENDING, token, stalePending);
        return token;
      }
      // A stuck AWSPENDING from an abandoned run blocks rotation; detach it from that version.
      if (stalePending) await moveLabel(s, PENDING, null, stalePending);
      let secretString = await value();
      if (s.key) {
        const doc = JSON.parse(await getString(s, currentVersion)) as Record<string, unknown>;
        secretString = JSON.stringify({ ...doc, [s.key]: secretString });
      }
      try {
        await sm(s).send(
          new PutSecretValueCommand({
            SecretId: s.secretId,
            ClientRequestToken: token,
            SecretString: secretString,
            VersionStages: [PENDING],
          }),
        );
      } catch (e) {
        throw awsFailure(e, 'put the new version', s);
      }
      return token;
    },

    async runVersion(s, rotation) {
      return rotation.runId in (await stages(s)) ? rotation.runId : null;
    },

    async discardPending(s, { rotation, previousVersion }) {
      const pendingVersion = rotation.runId;
      const all = await stages(s);
      // Nothing was written by this run (create failed before PutSecretValue landed).
      if (!(pendingVersion in all)) return;
      if (all[pendingVersion]?.includes(PENDING)) await moveLabel(s, PENDING, null, pendingVersion);
      // Demoting a promoted version hands it AWSPREVIOUS; give that label back to its old holder.
      const prevHolder = holder(all, PREVIOUS);
      if (prevHolder === pendingVersion || (previousVersion && prevHolder !== previousVersion)) {
        await moveLabel(s, PREVIOUS, previousVersion, prevHolder);
      }
      await tag(s, 'rotor:abandoned-version', pendingVersion);
    },

    async promote(s, { pendingVersion, currentVersion }) {
      const all = await stages(s);
      if (!all[pendingVersion]?.includes(CURRENT)) await moveLabel(s, CURRENT, pendingVersion, currentVersion);
      const after = await stages(s);
      if (after[pendingVersion]?.includes(PENDING)) await moveLabel(s, PENDING, null, pendingVersion);
      // AWS moves AWSPREVIOUS to the demoted version itself; make sure, for emulators and old APIs.
      if (!after[currentVersion]?.includes(PREVIOUS))
        await moveLabel(s, PREVIOUS, currentVersion, holder(after, PREVIOUS));
    },

    async demote(s, { pendingVersion, currentVersion }) {
      const all = await stages(s);
      if (!all[currentVersion]?.includes(CURRENT)) await moveLabel(s, CURRENT, currentVersion, pendingVersion);
      const after = await stages(s);
      if (!after[pendingVersion]?.includes(PENDING))
        await moveLabel(s, PENDING, pendingVersion, holder(after, PENDING));
    },

    async revoke(s, { revokedVersion }) {
      await tag(s, 'rotor:revoked-version', revokedVersion);
    },

    async finalize(s, { rotation, outcome }) {
      await tag(s, 'rotor:last-rotation', rotation.runId);
      await tag(s, 'rotor:last-outcome', outcome);
    },
  };
}
