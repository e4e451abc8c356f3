import { randomBytes } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type NodeVault from 'node-vault';
import { describe, expect, it } from 'vitest';
import { admissionKeys, issueGrant } from '../adapters/admission-token';
import type { CredentialKinds } from '../adapters/credentials/index';
import { keyring } from '../adapters/keys';
import { loadPolicyFile } from '../adapters/policy-file';
import type { AdmissionGrant } from '../core/contracts';
import { ErrorTypes } from '../core/failures';
import { openActivities } from './admitted';
import { createActivities } from './index';

const fingerprintKeys = keyring([{ id: 'unit', key: randomBytes(32) }]);
/** Clients that fail loudly if an activity body ever reached them. */
const unreachable = new Proxy(
  {},
  {
    get: (_t, p) => {
      throw new Error(`an activity body ran and touched a client (${String(p)})`);
    },
  },
);
const acts = createActivities({
  vault: unreachable as NodeVault.client,
  secretsManager: unreachable as SecretsManagerClient,
  fingerprintKeys,
  kubeconfig: new KubeConfig(),
  credentialKinds: unreachable as CredentialKinds,
  policy: loadPolicyFile('dev/policy/allow-all.yaml'),
  policyDefaults: {},
});

const run = { workflowId: 'rotate/victim', runId: 'run-1' };
const victimStore = { type: 'vault' as const, mount: 'secret', path: 'apps/orders/db', key: 'value' };
const attackerStore = { type: 'vault' as const, mount: 'secret', path: 'apps/payments/db', key: 'value' };
const credential = { kind: 'random' as const, length: 32, charset: 'alphanumeric' as const };
/** A genuine grant, under the worker's own keys, for the attacker's own store. */
const own: AdmissionGrant = issueGrant(admissionKeys(fingerprintKeys), run, {
  store: attackerStore,
  credential,
  clusters: [],
  canaries: [],
});
/** The same grant under a key the worker does not hold. */
const forged: AdmissionGrant = issueGrant(admissionKeys(keyring([{ id: 'unit', key: randomBytes(32) }])), run, {
  store: victimStore,
  credential,
  clusters: [],
  canaries: [],
});

const guarded = Object.keys(acts).filter((n) => !(openActivities as readonly string[]).includes(n));
/** A crafted input naming every part any activity reads (store, credential, clusters, canary). */
const crafted = (admission: AdmissionGrant | undefined) => ({
  ...(admission ? { admission } : {}),
  store: victimStore,
  credential,
  rotation: run,
  clusters: [{ name: 'cluster-a', delivery: 'push', namespace: 'orders', secretName: 'db', workloads: [] }],
  versions: { store: victimStore, current: { version: '1', fingerprint: 'x' }, other: null },
  canary: { type: 'http', name: 'exfil', url: 'https://attacker.example/' },
  currentVersion: '1',
  revokedVersion: '1',
  pendingVersion: '2',
  version: '1',
});

async function refusal(name: string, input: unknown): Promise<ApplicationFailure> {
  const env = new MockActivityEnvironment({ workflowExecution: run, workflowType: 'rotationWorkflow' });
  const fn = (acts as Record<string, (i: unknown) => Promise<unknown>>)[name];
  if (!fn) throw new Error(`no activity ${name}`);
  const e = await env.run(fn, input).then(
    () => new Error(`${name} ran`),
    (err: unknown) => err,
  );
  if (!(e instanceof ApplicationFailure)) throw e;
  return e;
}

describe('every activity a worker registers, except the open ones, needs an admission grant', () => {
  it('the open activities are exactly the ones that read no secret and change no store, cluster or run of rotor’s', () => {
    expect(
      Object.keys(acts)
        .filter((n) => !guarded.includes(n))
        .sort(),
    ).toEqual(
      [
        'admitRotation',
        'checkPlaybook',
        // Terminates only a workflow that is not rotor's under a rotation id, for an incident of this
        // worker: no store, cluster or run of rotor's (temporal-abuse.test.ts, id-squatters.test.ts).
        'evictRotationSquatter',
        'rotationsNeedingAttention',
        'verifyContinuation',
        'verifyOperatorAction',
        'verifyRotationParent',
      ].sort(),
    );
    // A new activity is guarded by default: the list below only grows with the factory.
    expect(guarded.length).toBeGreaterThanOrEqual(10);
  });

  it.each(guarded)('%s refuses an input without a grant, before its body runs', async (name) => {
    const e = await refusal(name, crafted(undefined));
    expect(e.type).toBe(ErrorTypes.notAdmitted);
    expect(e.nonRetryable).toBe(true);
    expect(e.message).toContain(`${name} refused, nothing was changed: its input carries no admission grant`);
  });

  it.each(guarded)('%s refuses a grant made under a key the worker does not hold', async (name) => {
    const e = await refusal(name, crafted(forged));
    expect(e.type).toBe(ErrorTypes.notAdmitted);
    expect(e.message).toContain('its store location was not admitted');
  });

  it.each(guarded)(
    "%s refuses a genuine grant for another store, cluster and canary than the input's",
    async (name) => {
      const e = await refusal(name, crafted(own));
      expect(e.type).toBe(ErrorTypes.notAdmitted);
      expect(e.message).toContain('its store location was not admitted');
    },
  );
});
