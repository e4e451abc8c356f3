/**
 * Issue 24 item 4 end to end: the orders team of dev/policy/two-teams.yaml may run command
 * canaries, and they run in the bubblewrap sandbox of a real worker. A playbook author's canary
 * goes for the worker's Vault token in /proc, rotor's keys and kubeconfigs under the stack's state
 * directory, the stack's Vault on loopback and the cloud metadata address: in the sandbox every
 * attack fails, the canary fails and the rotation rolls back with the store as before, while the
 * same script run as the worker's user gets in. An honest canary rotates. A worker that cannot
 * create the sandbox refuses command canaries at admission, before anything changes, and again at
 * the canary stage.
 */
import { spawnSync } from 'node:child_process';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityImplementations, createActivities } from '../../activities/index';
import type { ActivityDeps } from '../../activities/index';
import { ErrorTypes, WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { Canary, Playbook } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { testPlaybook } from '../helpers/playbooks';
import { uncheckedGrant } from '../helpers/grants';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
/** The orders tenant: label team=orders, requester in group orders-oncall; allow.canaries.command: true. */
const requestedBy = 'carol@laptop';
const deps = (): ActivityDeps => depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' });
const vaultUrl = new URL(env['VAULT_ADDR'] ?? 'http://127.0.0.1:8200');
const stateDir = '/var/lib/rotor';

/** What the attacking canary goes for, each a shell test that succeeds when it got in. */
const attacks: Record<string, string> = {
  "the worker's Vault token in /proc": `cat /proc/[0-9]*/environ 2>/dev/null | grep -qa VAULT_TOKEN=`,
  "rotor's keys": `cat ${stateDir}/keys/* >/dev/null 2>&1`,
  "the stack's kubeconfigs": `ls ${stateDir}/kube/*.kubeconfig >/dev/null 2>&1`,
  "the stack's Vault on loopback": `bash -c 'exec 3<>/dev/tcp/${vaultUrl.hostname}/${vaultUrl.port || 80}' 2>/dev/null`,
  'the cloud metadata address': `bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>/dev/null`,
};
/** Tries every attack and says which got in; exits 0 (the canary "passes") when one did. */
const attack = [
  'sh',
  '-c',
  [
    'cat >/dev/null; got=3',
    ...Object.entries(attacks).map(([what, test]) => `if ${test}; then echo "got ${what}"; got=0; fi`),
    '[ $got = 3 ] && echo every attack refused >&2',
    'exit $got',
  ].join('\n'),
];

const withCanary = (store: TestStore, canary: Canary): Playbook => {
  const p = testPlaybook(store.store, { canaries: [canary] });
  return { ...p, metadata: { ...p.metadata, labels: { team: 'orders' } } };
};

async function rotate(tw: TestWorker, playbook: Playbook) {
  const h = await tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, trigger: 'manual', requestedBy }],
  });
  return tw.run(() => outcomeOf(h));
}

/** The cause chain's messages and types, outermost first. */
function chain(e: unknown): string[] {
  const out: string[] = [];
  for (let c = e as Error | undefined; c; c = (c as { cause?: Error }).cause)
    out.push(c instanceof ApplicationFailure ? `${c.type}: ${c.message}` : c.message);
  return out;
}

describe('command canaries on a real worker under a multi-tenant policy', () => {
  let tw: TestWorker;
  beforeAll(async () => {
    tw = await startTestWorker(createActivities(deps()));
  });
  afterAll(async () => {
    await tw?.close();
  });

  it("the attacker's script gets in as the worker's user (so the sandbox is what stops it)", () => {
    const bare = spawnSync(attack[0]!, attack.slice(1), { input: 'x', encoding: 'utf8', timeout: 60_000 });
    expect(bare.status, bare.stderr).toBe(0);
    // Everything but the metadata address, which not every machine has (this one's answers).
    expect(bare.stdout.trim().split('\n')).toEqual(
      expect.arrayContaining(
        Object.keys(attacks)
          .filter((a) => a !== 'the cloud metadata address')
          .map((a) => `got ${a}`),
      ),
    );
  });

  it('an attacking canary reaches nothing in the sandbox: it fails and the rotation rolls back', async () => {
    const store = await vaultTestStore('attack-initial', undefined, 'apps/orders/');
    const before = await store.snapshot();
    const out = await rotate(
      tw,
      withCanary(store, { type: 'command', name: 'attack', command: attack, timeout: 30_000 }),
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    const causes = chain((out.error as WorkflowFailedError).cause);
    expect(causes[0]).toMatch(new RegExp(`^${WorkflowErrorTypes.rolledBack}: `));
    expect(causes.join('\n')).toContain(
      `${ErrorTypes.canaryFailed}: canary 'attack' failed: sh exit 3: every attack refused`,
    );
    const after = await store.snapshot();
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.currentValue).toBe(before.currentValue);
  });

  it('an honest canary reads the credential on stdin and the rotation completes', async () => {
    const store = await vaultTestStore('honest-initial', undefined, 'apps/orders/');
    const before = await store.snapshot();
    const honest: Canary = {
      type: 'command',
      name: 'well-formed',
      command: ['sh', '-c', 'test "$(id -u)" = 65534 && grep -qE "^[[:alnum:]]{32}$"'],
      timeout: 30_000,
    };
    const out = await rotate(tw, withCanary(store, honest));
    expect(out.ok, out.ok ? '' : chain(out.error).join('\n')).toBe(true);
    const after = await store.snapshot();
    expect(after.currentVersion).not.toBe(before.currentVersion);
  });
});

describe('a worker that cannot create the sandbox', () => {
  let tw: TestWorker;
  const noSandbox = (): ActivityDeps => ({ ...deps(), bwrap: '/nonexistent/bwrap' });
  beforeAll(async () => {
    tw = await startTestWorker(createActivities(noSandbox()));
  });
  afterAll(async () => {
    await tw?.close();
  });

  it('refuses a command canary at admission, naming what to install; nothing changes', async () => {
    const store = await vaultTestStore('refused-initial', undefined, 'apps/orders/');
    const before = await store.snapshot();
    const out = await rotate(tw, withCanary(store, { type: 'command', name: 'c', command: ['true'], timeout: 30_000 }));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    const [refused] = chain((out.error as WorkflowFailedError).cause);
    expect(refused).toMatch(
      /^PolicyRefused: .*spec\.canaries\[0\]\.type: command canary 'c' must run in the bubblewrap sandbox, which this worker cannot create \(bwrap is not installed.*policy rule commandSandbox\.type; to allow it an admin would install the Debian package bubblewrap/s,
    );
    expect(await store.snapshot()).toEqual(before);
  });

  it('refuses it again at the canary stage, before reading the credential', async () => {
    const store = await vaultTestStore('stage-initial', undefined, 'apps/orders/');
    const canary: Canary = { type: 'command', name: 'c', command: ['true'], timeout: 30_000 };
    // Outside an activity: the check comes before the credential is read (which needs the activity context).
    const err = await activityImplementations(noSandbox())
      .runCanary({ admission: uncheckedGrant, store: store.store, version: '1', canary })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(ErrorTypes.commandSandboxUnavailable);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).message).toMatch(/apt-get install bubblewrap/);
  });
});
