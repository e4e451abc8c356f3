/**
 * Redis ACL users through the whole workflow, against the stack's Redis (over TLS) and Secrets
 * Manager: a rotation leaves only the new password; a failing canary, a consumer that never reads
 * the new version (real pod, promote gate) and a failure injected right after each step that
 * changes the world roll back to exactly the old password, or (after revoke, past the point of no
 * return) retry into a proven revocation. Logins are real AUTHs, asserted as booleans; the user's
 * passwords are read back with ACL GETUSER.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { redisPasswordHash } from '../../adapters/credentials/redis-acl';
import type { UserPassword } from '../../adapters/credentials/values';
import type { RedisTarget } from '../../adapters/redis';
import { RetryableErrorTypes, WorkflowErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { volumeConsumer, waitRunning } from '../helpers/consumers';
import { kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { canAuth, createRedisUser, deleteRedisUsers, redisUser, stackRedis } from '../helpers/redis';
import { expectRolledBack } from '../helpers/rolled-back';
import { faultSwitch } from '../helpers/faults';
import { useStackEnv } from '../helpers/stack-env';
import { recordRotation } from '../helpers/history-recorder';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

useStackEnv();
const suffix = randomBytes(4).toString('hex');
const users: string[] = [];
const target: RedisTarget = stackRedis.tls;

/** Faults injected right after real steps (test/helpers/faults.ts). */
const faults = faultSwitch(RetryableErrorTypes.redis);

const hashOf = (value: string) => redisPasswordHash((JSON.parse(value) as UserPassword).password);

async function setUp(name: string, rules?: string[]) {
  const user = `rotor-wf-${name}-${suffix}`;
  users.push(user);
  const { initial } = await createRedisUser(user, rules);
  const ts = await awsTestStore(initial);
  return { user, initial, ts };
}

const credential = (user: string) => ({ kind: 'redis-acl-user' as const, user, ...target });
const canary = { type: 'redis-auth' as const, name: 'auth-ping', ...target };

/** One run; `fixture` names the replay fixture it stands for (saved only while recording). */
async function rotate(tw: TestWorker, spec: Partial<PlaybookInput['spec']>, ts: TestStore, fixture?: string) {
  const playbook = testPlaybook(ts.store, spec);
  return tw.run(async () => {
    const h = await startRotation(tw, playbook);
    const out = await outcomeOf(h);
    if (fixture) await recordRotation(h, fixture, ts);
    return { out, status: await h.query<RotationStatus>(statusQuery) };
  });
}

/** Exactly the old password opens the user again, and the store's current value is the old one. */
async function expectOldOnly(k: Awaited<ReturnType<typeof setUp>>): Promise<void> {
  expect((await redisUser(k.user))?.passwords).toEqual([hashOf(k.initial)]);
  expect(await canAuth(k.initial, target)).toBe(true);
  const snap = await k.ts.snapshot();
  expect(snap.currentValue === k.initial).toBe(true);
  expect(snap.pendingVersion).toBeNull();
}

afterAll(async () => {
  await deleteRedisUsers(users);
});

describe('rotation of a Redis ACL user (TLS) through the workflow', () => {
  let tw: TestWorker;
  beforeAll(async () => {
    tw = await startTestWorker(faults.wrap(createActivities(depsFromEnv())));
  });
  afterAll(async () => {
    faults.state.fault = 'none';
    await tw?.close();
  });

  it('rotates: the new password authenticates, the old one is refused, the proof is recorded', async () => {
    const k = await setUp('ok');
    const { out, status } = await rotate(
      tw,
      { credential: credential(k.user), canaries: [canary] },
      k.ts,
      'redis-acl-user-success',
    );
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const now = (await k.ts.snapshot()).currentValue;
    expect((JSON.parse(now) as UserPassword).username).toBe(k.user);
    expect(await canAuth(now, target)).toBe(true);
    expect(await canAuth(k.initial, target)).toBe(false);
    expect((await redisUser(k.user))?.passwords).toEqual([hashOf(now)]);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain('WRONGPASS');
  });

  it('a failing canary (the user may not PING) rolls back: the new password is removed, the old one works', async () => {
    const k = await setUp('canary', ['+get']);
    const run = await rotate(
      tw,
      { credential: credential(k.user), canaries: [canary] },
      k.ts,
      'redis-acl-user-rolled-back',
    );
    expectRolledBack(run, 'CanaryFailed');
    await expectOldOnly(k);
  });

  it.each([
    { step: 'create' as const, undo: 'the new password is removed although create never answered' },
    { step: 'promote' as const, undo: 'the store is demoted and the new password removed' },
  ])('a failure injected right after $step rolls back: $undo', async ({ step }) => {
    const k = await setUp(`after-${step}`);
    faults.state.fault = step;
    try {
      const run = await rotate(tw, { credential: credential(k.user), canaries: [canary] }, k.ts);
      expectRolledBack(run, 'InjectedFault');
    } finally {
      faults.state.fault = 'none';
    }
    await expectOldOnly(k);
  });

  it('a failure right after revoke (past the point of no return) retries: the old password is already gone, proven refused', async () => {
    const k = await setUp('after-revoke');
    faults.state.fault = 'revoke-once';
    const { out, status } = await rotate(tw, { credential: credential(k.user) }, k.ts);
    expect(faults.state.fault).toBe('none');
    expect(out.ok ? undefined : out.error).toBeUndefined();
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toContain('old password already gone');
    expect(await canAuth(k.initial, target)).toBe(false);
    expect(await canAuth((await k.ts.snapshot()).currentValue, target)).toBe(true);
  });
});

describe('rollback at the consumer gate (a real pod that never reads the new version)', () => {
  const namespace = `redis-gate-${suffix}`;
  const secretName = 'cache-user';
  const kc = () => kubeconfigFor('cluster-a');
  let tw: TestWorker;
  let k: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    const core = kc().makeApiClient(CoreV1Api);
    k = await setUp('gate');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: secretName }, stringData: { value: k.initial } },
    });
    // Loaded both keys at startup: it never reads the new password beside the old one.
    await kc()
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({
        namespace,
        body: volumeConsumer('frozen', secretName, true, ['value', 'value-other']),
      });
    await waitRunning(core, namespace, ['frozen']);
    tw = await startTestWorker(createActivities(depsFromEnv()));
  }, 180_000);

  afterAll(async () => {
    await tw?.close();
    await purgeNamespace(kc(), namespace).catch(() => undefined);
  }, 120_000);

  it('the promote gate fails and the run rolls back: the new password is removed, the old one works', async () => {
    const run = await rotate(
      tw,
      {
        credential: credential(k.user),
        canaries: [canary],
        clusters: [{ name: 'cluster-a', delivery: 'push', namespace, secretName, workloads: [] }],
        timeouts: { gate: '15s' },
        consumerGate: { settle: '3s' },
      },
      k.ts,
    );
    expectRolledBack(run, WorkflowErrorTypes.consumerGateFailed);
    await expectOldOnly(k);
  });
});
