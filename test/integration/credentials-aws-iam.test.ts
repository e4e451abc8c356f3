/**
 * IAM access-key rotation against a PRIVATE moto server that enforces request signing. The stack's
 * shared moto accepts any key (every other client uses dummy keys), so this file starts its own
 * moto_server from the stack's virtualenv, bootstraps an admin user while auth is still off, then
 * turns auth on via /moto-api/reset-auth. What moto 5.2.5 then enforces: the access key id must
 * exist and the SigV4 signature must match its secret (else InvalidClientTokenId /
 * SignatureDoesNotMatch). It does NOT enforce a key's Inactive status: a deactivated key still
 * authenticates, unlike AWS. So deletion is proven here; deactivation is only shown to be recorded.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { callerIdentity } from '../../adapters/credentials/aws-iam';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import type { AccessKeyPair } from '../../adapters/credentials/values';
import { stackPaths } from '../../dev/local-stack/config';
import { moto } from '../../dev/local-stack/services/moto';
import { canarySchema, credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

type IamPolicy = Extract<Credential, { kind: 'aws-iam-access-key' }>;

const region = 'us-east-1';
const account = '123456789012';
const rotation = { workflowId: 'credentials-aws-iam-test', runId: randomUUID() };
let server: ChildProcess | undefined;
let endpoint = '';
let iam: IAMClient;
let kind: ReturnType<typeof createCredentialKinds>['aws-iam-access-key'];
const users: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sts = (key: AccessKeyPair) => new STSClient({ endpoint, region, credentials: key, maxAttempts: 1 });
const keyOf = (value: string) => JSON.parse(value) as AccessKeyPair;
/** Whether AWS (moto) authenticates this key: a real signed GetCallerIdentity, asserted as a boolean. */
const accepted = async (value: string) => (await callerIdentity(sts(keyOf(value)), keyOf(value))).status === 'accepted';
const leaks = (text: string, values: string[]) => values.some((v) => text.includes(keyOf(v).secretAccessKey));

async function keyStatuses(userName: string): Promise<Record<string, string>> {
  const res = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((res.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** A fresh IAM user with one access key, which is the current value. */
async function userWithKey(
  name: string,
  overrides: Record<string, unknown> = {},
): Promise<{ policy: IamPolicy; current: string }> {
  const userName = `rotor-${name}-${randomBytes(4).toString('hex')}`;
  await iam.send(new CreateUserCommand({ UserName: userName }));
  users.push(userName);
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
  const policy = credentialSchema.parse({ kind: 'aws-iam-access-key', userName, ...overrides }) as IamPolicy;
  return { policy, current: JSON.stringify({ accessKeyId: key?.AccessKeyId, secretAccessKey: key?.SecretAccessKey }) };
}

beforeAll(async () => {
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  const bin = join(stackPaths().cacheDir, 'venv', `moto-${moto.version}`, 'bin', 'moto_server');
  server = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    if ((await fetch(`${endpoint}/moto-api/data.json`).catch(() => undefined))?.ok) break;
    if (i > 100) throw new Error(`private moto_server (${bin}) did not answer on ${endpoint}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // Auth is off until reset-auth: bootstrap an admin user whose key signs everything afterwards.
  const bootstrap = new IAMClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await bootstrap.send(new CreateUserCommand({ UserName: 'rotor-admin' }));
  const policyArn = (
    await bootstrap.send(
      new CreatePolicyCommand({
        PolicyName: 'rotor-admin-all',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    )
  ).Policy?.Arn;
  await bootstrap.send(new AttachUserPolicyCommand({ UserName: 'rotor-admin', PolicyArn: policyArn }));
  const adminKey = (await bootstrap.send(new CreateAccessKeyCommand({ UserName: 'rotor-admin' }))).AccessKey;
  const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  expect(res.ok).toBe(true);
  iam = new IAMClient({
    endpoint,
    region,
    credentials: { accessKeyId: adminKey?.AccessKeyId ?? '', secretAccessKey: adminKey?.SecretAccessKey ?? '' },
  });
  kind = createCredentialKinds({ ...credentialDepsFromEnv(), iam, stsFor: sts })['aws-iam-access-key'];
});

afterAll(async () => {
  for (const u of users) {
    for (const id of Object.keys(await keyStatuses(u).catch(() => ({})))) {
      await iam.send(new DeleteAccessKeyCommand({ UserName: u, AccessKeyId: id })).catch(() => undefined);
    }
    await iam.send(new DeleteUserCommand({ UserName: u })).catch(() => undefined);
  }
  server?.kill('SIGTERM');
});

describe('the private moto enforces request signing', () => {
  it('refuses an unknown key and a wrong secret, and accepts a real one', async () => {
    const dummy = new STSClient({
      endpoint,
      region,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    await expect(dummy.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    const { current } = await userWithKey('sig');
    const wrongSecret = JSON.stringify({ accessKeyId: keyOf(current).accessKeyId, secretAccessKey: 'x'.repeat(40) });
    expect(await accepted(wrongSecret)).toBe(false);
    expect(await accepted(current)).toBe(true);
  });
});

describe('aws-iam-access-key', () => {
  it('create adds a second key (both work), the canary authenticates, revoke (delete) proves the old key is refused', async () => {
    const { policy, current } = await userWithKey('rot', { revoke: 'delete', proofTimeout: '10s' });
    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(keyOf(pending).accessKeyId).not.toBe(keyOf(current).accessKeyId);
    expect(await accepted(current)).toBe(true);
    expect(await accepted(pending)).toBe(true);

    const arn = `arn:aws:iam::${account}:user/${policy.userName}`;
    const check = await runCanaryCheck(
      canarySchema.parse({ type: 'aws-sts', name: 'sts', endpoint, region, expectedArn: arn }),
      pending,
      new AbortController().signal,
    );
    expect(check).toEqual({ ok: true, detail: `GetCallerIdentity: ${arn}` });

    const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect(evidence.rejected).toBe(true);
    expect(evidence.detail).toContain('deleted; STS GetCallerIdentity with the old key refused: InvalidClientTokenId');
    expect(evidence.detail).toContain(`answers as ${arn}`);
    expect(leaks(evidence.detail, [current, pending])).toBe(false);

    expect(await accepted(current)).toBe(false);
    expect(await accepted(pending)).toBe(true);
    expect(Object.keys(await keyStatuses(policy.userName))).toEqual([keyOf(pending).accessKeyId]);
    expect((await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation })).rejected).toBe(true);
  });

  it('revoke (deactivate, the default) marks the old key Inactive; moto still authenticates it, and the evidence says so', async () => {
    const { policy, current } = await userWithKey('deact', { proofTimeout: '2s' });
    const pending = await kind.create(policy, { currentValue: current, rotation });
    const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect((await keyStatuses(policy.userName))[keyOf(current).accessKeyId]).toBe('Inactive');
    // moto 5.2.5 does not check key status; AWS refuses an Inactive key with InvalidClientTokenId.
    expect(evidence.rejected).toBe(false);
    expect(evidence.detail).toContain('STS still ACCEPTS the old key after 2s');
    expect(leaks(evidence.detail, [current, pending])).toBe(false);

    // The next rotation needs the slot: its create deletes the deactivated key, which is then refused even by moto.
    const next = await kind.create(policy, { currentValue: pending, rotation });
    expect(Object.keys(await keyStatuses(policy.userName)).sort()).toEqual(
      [keyOf(pending).accessKeyId, keyOf(next).accessKeyId].sort(),
    );
    expect(await accepted(current)).toBe(false);
    expect(await accepted(next)).toBe(true);
  });

  it('a retried create replaces its own orphan instead of leaking a key', async () => {
    const { policy, current } = await userWithKey('retry');
    const first = await kind.create(policy, { currentValue: current, rotation });
    const second = await kind.create(policy, { currentValue: current, rotation });
    expect(Object.keys(await keyStatuses(policy.userName)).sort()).toEqual(
      [keyOf(current).accessKeyId, keyOf(second).accessKeyId].sort(),
    );
    expect(await accepted(first)).toBe(false);
    expect(await accepted(second)).toBe(true);
    expect(await accepted(current)).toBe(true);
  });

  it('failure injection: the canary fails (wrong expected ARN), discard deletes the new key and the old one keeps working', async () => {
    const { policy, current } = await userWithKey('undo');
    const pending = await kind.create(policy, { currentValue: current, rotation });
    const check = await runCanaryCheck(
      canarySchema.parse({
        type: 'aws-sts',
        name: 'sts',
        endpoint,
        region,
        expectedArn: `arn:aws:iam::${account}:user/somebody-else`,
      }),
      pending,
      new AbortController().signal,
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('expected arn:aws:iam::123456789012:user/somebody-else');

    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect(await accepted(pending)).toBe(false);
    expect(await accepted(current)).toBe(true);
    expect(await keyStatuses(policy.userName)).toEqual({ [keyOf(current).accessKeyId]: 'Active' });
  });

  it('refuses to guess when the current key is not a key of the user, and the canary hides a refused secret', async () => {
    const { policy } = await userWithKey('stranger');
    const { current: other } = await userWithKey('other');
    await expect(kind.create(policy, { currentValue: other, rotation })).rejects.toThrow(
      `is not a key of IAM user '${policy.userName}'`,
    );
    const bogus = JSON.stringify({ accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'y'.repeat(40) });
    const check = await runCanaryCheck(
      canarySchema.parse({ type: 'aws-sts', name: 'sts', endpoint, region, timeout: '5s' }),
      bogus,
      new AbortController().signal,
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('InvalidClientTokenId');
    expect(leaks(check.detail, [bogus])).toBe(false);
  });
});
