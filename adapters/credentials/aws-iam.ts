import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  NoSuchEntityException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import { redact } from '../redact';
import type { CredentialKind } from './kind';
import { parseAccessKeyPair, shortKeyId } from './values';
import type { AccessKeyPair } from './values';
import type { RevocationEvidence } from '../../core/status';
import { holdSecret } from '../secret-scope';

type IamKeyCredential = Extract<Credential, { kind: 'aws-iam-access-key' }>;

/** What STS said to a key: accepted (with the caller ARN), refused (authentication failed), or inconclusive. */
export type StsOutcome = { status: 'accepted'; arn: string } | { status: 'refused' | 'inconclusive'; error: string };

/** Errors with which AWS refuses to authenticate a request (as opposed to failing to answer it). */
const refusalNames = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
]);

/** Calls STS GetCallerIdentity as `key`. Never throws; the error text is redacted. */
export async function callerIdentity(sts: STSClient, key: AccessKeyPair, signal?: AbortSignal): Promise<StsOutcome> {
  try {
    const res = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
    return { status: 'accepted', arn: res.Arn ?? '(no ARN)' };
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    const refused = refusalNames.has(err.name) || err.$metadata?.httpStatusCode === 403;
    return {
      status: refused ? 'refused' : 'inconclusive',
      error: redact(`${err.name}: ${err.message}`, [key.secretAccessKey]),
    };
  }
}

/**
 * An IAM user's access keys. IAM allows two per user, which is exactly the overlap a rotation
 * needs: create adds the second key, revoke deactivates (or deletes) the old one and proves with
 * STS that it is refused. A deactivated key is deleted by the next rotation's create, which needs
 * its slot, so deletion waits for the soak of one full rotation period.
 */
export function awsIamAccessKeyKind(deps: {
  iam: IAMClient;
  stsFor: (creds: AccessKeyPair) => STSClient;
}): CredentialKind<IamKeyCredential> {
  async function keysOf(userName: string) {
    try {
      const res = await deps.iam.send(new ListAccessKeysCommand({ UserName: userName }));
      return res.AccessKeyMetadata ?? [];
    } catch (e) {
      if (e instanceof NoSuchEntityException)
        throw permanent(ErrorTypes.invalidInput, `IAM user '${userName}' does not exist`);
      throw e;
    }
  }

  async function deleteKey(userName: string, accessKeyId: string): Promise<void> {
    await deps.iam
      .send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }))
      .catch((e: unknown) => {
        // Already gone is what we wanted (a retried activity may have deleted it).
        if (!(e instanceof NoSuchEntityException)) throw e;
      });
  }

  return {
    async create(p, { currentValue }) {
      const current = parseAccessKeyPair(currentValue, 'the current value');
      const keys = await keysOf(p.userName);
      if (!keys.some((k) => k.AccessKeyId === current.accessKeyId)) {
        throw permanent(
          ErrorTypes.invalidInput,
          `the current access key ${shortKeyId(current.accessKeyId)} is not a key of IAM user '${p.userName}'; refusing to guess which key to replace`,
        );
      }
      // Any other key is a leftover: a create whose value never reached the store, or the previous
      // rotation's deactivated key. Deleting it first keeps retries from leaking keys.
      for (const k of keys) {
        if (k.AccessKeyId && k.AccessKeyId !== current.accessKeyId) await deleteKey(p.userName, k.AccessKeyId);
      }
      const res = await deps.iam.send(new CreateAccessKeyCommand({ UserName: p.userName }));
      const key = res.AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey)
        throw retryable(RetryableErrorTypes.aws, `IAM CreateAccessKey for '${p.userName}' answered without a key`);
      return holdSecret(JSON.stringify({ accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey }));
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = parseAccessKeyPair(pendingValue, 'the pending value');
      const current = parseAccessKeyPair(currentValue, 'the current value');
      if (pending.accessKeyId !== current.accessKeyId) await deleteKey(p.userName, pending.accessKeyId);
      await deps.iam.send(
        new UpdateAccessKeyCommand({ UserName: p.userName, AccessKeyId: current.accessKeyId, Status: 'Active' }),
      );
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parseAccessKeyPair(oldValue, 'the old value');
      const current = parseAccessKeyPair(currentValue, 'the current value');
      const oldId = shortKeyId(old.accessKeyId);
      if (old.accessKeyId === current.accessKeyId) {
        return {
          rejected: false,
          detail: `old and current values are the same access key ${oldId}; not revoking the key in use`,
        };
      }
      if (p.revoke === 'delete') await deleteKey(p.userName, old.accessKeyId);
      else {
        await deps.iam
          .send(new UpdateAccessKeyCommand({ UserName: p.userName, AccessKeyId: old.accessKeyId, Status: 'Inactive' }))
          .catch((e: unknown) => {
            if (!(e instanceof NoSuchEntityException)) throw e;
          });
      }
      const action = p.revoke === 'delete' ? 'deleted' : 'deactivated (deleted by the next rotation)';

      // IAM is eventually consistent: ask until STS refuses the old key or proofTimeout passes.
      const deadline = Date.now() + p.proofTimeout;
      const oldSts = deps.stsFor(old);
      let outcome = await callerIdentity(oldSts, old);
      while (outcome.status !== 'refused' && Date.now() < deadline) {
        await sleep(Math.min(2_000, Math.max(0, deadline - Date.now())));
        outcome = await callerIdentity(oldSts, old);
      }
      oldSts.destroy();
      if (outcome.status === 'inconclusive') {
        throw retryable(
          RetryableErrorTypes.aws,
          `${action} access key ${oldId} of '${p.userName}' but could not check it with STS: ${outcome.error}`,
        );
      }
      const currentSts = deps.stsFor(current);
      const now = await callerIdentity(currentSts, current);
      currentSts.destroy();
      const newPart =
        now.status === 'accepted'
          ? `current key ${shortKeyId(current.accessKeyId)} answers as ${now.arn}`
          : `WARNING: current key ${shortKeyId(current.accessKeyId)} is not accepted: ${now.error}`;
      const oldPart =
        outcome.status === 'accepted'
          ? `STS still ACCEPTS the old key after ${Math.round(p.proofTimeout / 1000)}s (as ${outcome.arn})`
          : `STS GetCallerIdentity with the old key refused: ${outcome.error}`;
      return {
        rejected: outcome.status === 'refused',
        detail: `access key ${oldId} of IAM user '${p.userName}' ${action}; ${oldPart}; ${newPart}`,
      };
    },
  };
}
