/**
 * A Secrets Manager store with `roleArn`: the worker assumes that role through the stack's moto STS
 * for the store's calls, and the admin policy decides which roles a tenant's playbooks may name.
 * Every Secrets Manager request of the rotation is recorded as signed (its access key id), and STS
 * GetCallerIdentity with those same credentials says whose they are.
 */
import { randomBytes } from 'node:crypto';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { secretsManagerPerStore } from '../../adapters/aws-role';
import { WorkflowErrorTypes } from '../../core/failures';
import type { Playbook, Store } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { manualRotationOutcome, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

type AwsStore = Extract<Store, { type: 'aws' }>;
// The role dev/policy/two-teams.yaml gives the payments team; moto's account is 123456789012.
const paymentsRole = 'arn:aws:iam::123456789012:role/rotor-payments-secrets';
const playbookFile = 'playbooks/payments/role.yaml';
const requestedBy = 'alice@laptop';

let tw: TestWorker;
let own: TestStore;
const perStore = secretsManagerPerStore(new SecretsManagerClient({}));
/** Roles a client was made for, and every request those clients sent: command and signing key. */
const rolesUsed: string[] = [];
const signed: { command: string; accessKeyId: string }[] = [];
const clients = new Set<SecretsManagerClient>();

function recordingClient(store: AwsStore): SecretsManagerClient {
  const client = perStore(store);
  if (store.roleArn && !clients.has(client)) {
    clients.add(client);
    rolesUsed.push(store.roleArn);
    // At the deserialize step the request is the one sent: signed, its Authorization header final.
    client.middlewareStack.add(
      (next, context) => (args) => {
        const auth = (args.request as { headers?: Record<string, string> }).headers?.['authorization'] ?? '';
        const accessKeyId = /Credential=([^/]+)\//.exec(auth)?.[1] ?? 'unsigned';
        signed.push({ command: context.commandName ?? '?', accessKeyId });
        return next(args);
      },
      { step: 'deserialize', name: 'rotorTestRecordSigner' },
    );
  }
  return client;
}

beforeAll(async () => {
  const env = useStackEnv();
  await new IAMClient({})
    .send(
      new CreateRoleCommand({
        RoleName: 'rotor-payments-secrets',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    )
    .catch((e: Error) => {
      // Made by an earlier run against the same moto: the role is the same.
      if (!e.name.startsWith('EntityAlreadyExists')) throw e;
    });
  const deps = depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' });
  tw = await startTestWorker(createActivities({ ...deps, secretsManagerFor: recordingClient }));
  own = await awsTestStore(randomBytes(16).toString('hex'), undefined, 'payments/');
});

afterAll(async () => {
  await tw?.close();
});

async function rotate(playbook: Playbook) {
  return manualRotationOutcome(tw, { playbook, playbookFile, requestedBy });
}

describe('AWS store roleArn', () => {
  it("a playbook naming a role outside its tenant's policy is refused before any change", async () => {
    const before = await own.snapshot();
    const admin = 'arn:aws:iam::123456789012:role/admin';
    const out = await rotate(testPlaybook({ ...(own.store as AwsStore), roleArn: admin }));
    if (out.ok) throw new Error('rotated with a role the policy does not give the tenant');
    const failure = (out.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
    expect(failure.message).toContain('refused by the rotor policy, nothing was changed');
    expect(failure.message).toContain(
      `spec.secret.store.roleArn: IAM role '${admin}' is not one the tenant may assume`,
    );
    expect(failure.message).toContain('policy rule tenants[payments].allow.aws[].roleArns');
    expect(await own.snapshot()).toEqual(before);
    expect(rolesUsed).toEqual([]);
  });

  it('rotates with the assumed role: every Secrets Manager call is signed by its session', async () => {
    const before = await own.snapshot();
    const store = { ...(own.store as AwsStore), roleArn: paymentsRole };
    const out = await rotate(testPlaybook(store));
    expect(out.ok ? undefined : out.error.cause).toBeUndefined();
    const after = await own.snapshot();
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.currentValue).not.toBe(before.currentValue);

    expect(rolesUsed).toEqual([paymentsRole]);
    const commands = new Set(signed.map((s) => s.command));
    for (const c of ['DescribeSecretCommand', 'PutSecretValueCommand', 'UpdateSecretVersionStageCommand'])
      expect(commands).toContain(c);
    const keys = new Set(signed.map((s) => s.accessKeyId));
    expect(keys.size).toBe(1);
    const [key] = [...keys];
    expect(key).not.toBe(process.env['AWS_ACCESS_KEY_ID']);

    // The same provider's credentials, asked of STS: the assumed role, in a session naming rotor.
    const credentials = await perStore(store).config.credentials();
    expect(credentials.accessKeyId).toBe(key);
    const me = await new STSClient({ credentials }).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(
      `arn:aws:sts::123456789012:assumed-role/rotor-payments-secrets/rotor-${store.secretId.replace('/', '-')}`,
    );
  });
});
