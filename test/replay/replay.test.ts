/**
 * Every recorded history in test/histories (see its README) replayed against today's workflow
 * code, from the run's one prebuilt bundle, with the worker's data converter: a change that would
 * break running rotations fails here. `incompatible.json` must fail.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import type { ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { workerDataConverter } from '../../adapters/temporal/data-converter';
import { workflowBundleFromEnv, workflowInterceptorModules, workflowsPath } from '../../workers/bundle';
import { fixtureText, secretShapesIn, secretValuesIn } from '../helpers/fixture-scan';
import { eventTypes, fromHistoryJson } from '../helpers/history';
import type { HistoryFixture } from '../helpers/history-recorder';

// The fixtures are stored decoded and the codec passes plaintext through, so replay needs no
// Temporal server and no particular codec key: a throwaway one.
const env = { ROTOR_CODEC_KEY: randomBytes(32).toString('base64') };
const bundle = workflowBundleFromEnv();

const dir = new URL('../histories/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (name: string): HistoryFixture => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as HistoryFixture;
const mustFail = (name: string): boolean => name.startsWith('incompatible');
const compatible = files.filter((f) => !mustFail(f));

/**
 * The paths every release must keep replaying, by fixture: each is recorded by test/histories/record.ts.
 * `has`: names the history must hold, quoted (activity and workflow types, failure types, and
 * inside the decoded payloads the credential kind, a playbook field).
 */
const required: Record<string, { type: string; ends: string; has?: string[] }> = {
  'rotation-success.json': { type: 'rotationWorkflow', ends: 'COMPLETED', has: ['storeLockWorkflow'] },
  'rotation-rolled-back.json': { type: 'rotationWorkflow', ends: 'FAILED' },
  'rotation-clusters-success.json': { type: 'rotationWorkflow', ends: 'COMPLETED', has: ['consumerGate'] },
  'rotation-clusters-rolled-back.json': { type: 'rotationWorkflow', ends: 'FAILED' },
  'approval-granted.json': { type: 'rotationWorkflow', ends: 'COMPLETED' },
  'approval-timed-out.json': { type: 'rotationWorkflow', ends: 'FAILED' },
  'needs-attention-retried.json': { type: 'rotationWorkflow', ends: 'COMPLETED' },
  'continued-as-new-first.json': { type: 'rotationWorkflow', ends: 'CONTINUED_AS_NEW' },
  'continued-as-new-last.json': { type: 'rotationWorkflow', ends: 'COMPLETED' },
  'scheduled-window.json': { type: 'rotationWorkflow', ends: 'COMPLETED' },
  'emergency-superseded.json': { type: 'rotationWorkflow', ends: 'FAILED' },
  'emergency-supersede.json': { type: 'rotationWorkflow', ends: 'COMPLETED' },
  'batch-children-success.json': { type: 'rotationWorkflow', ends: 'COMPLETED', has: ['clusterBatchWorkflow'] },
  'batch-children-rolled-back.json': { type: 'rotationWorkflow', ends: 'FAILED', has: ['clusterBatchWorkflow'] },
  'batch-children-success.child-clusterBatchWorkflow-1.json': { type: 'clusterBatchWorkflow', ends: 'COMPLETED' },
  'batch-results-rolled-back.json': { type: 'rotationWorkflow', ends: 'FAILED', has: ['clusterBatchWorkflow'] },
  'batch-results-rolled-back.child-clusterBatchWorkflow-2.json': { type: 'clusterBatchWorkflow', ends: 'COMPLETED' },
  'rotation-success.child-storeLockWorkflow-1.json': { type: 'storeLockWorkflow', ends: 'COMPLETED' },
  'incident-rolled-back.json': {
    type: 'incidentWorkflow',
    ends: 'COMPLETED',
    // The already-running rotation: its id asked after (a squatter would be evicted), then skipped.
    has: ['rotationWorkflow', 'evictRotationSquatter'],
  },
  'incident-aborted.json': { type: 'incidentWorkflow', ends: 'COMPLETED', has: ['abortIncidentUpdate'] },
  'incident-continued-first.json': { type: 'incidentWorkflow', ends: 'CONTINUED_AS_NEW' },
  // Credential kinds on the stack's services (their integration tests mark these runs).
  'vault-pki-certificate-success.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['vault-pki-certificate', 'tls-handshake', 'consumerGate', 'revokeVersion'],
  },
  'vault-pki-certificate-rolled-back.json': {
    type: 'rotationWorkflow',
    ends: 'FAILED',
    has: ['vault-pki-certificate', 'CanaryFailed', 'discardPendingVersion'],
  },
  'vault-pki-ca-rollover-success.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['vault-pki-ca-rollover', 'OldCredentialStillInUse', 'checkOldUnused', 'retrySignal', 'revokeVersion'],
  },
  // Rolled back after the bundles were published and the new issuer promoted: demote, then discard.
  'vault-pki-ca-rollover-rolled-back.json': {
    type: 'rotationWorkflow',
    ends: 'FAILED',
    has: ['vault-pki-ca-rollover', 'promoteVersion', 'demoteVersion', 'discardPendingVersion'],
  },
  // The build whose consumer gate waits for pods mounting the trust bundle (GateInput.readers).
  'vault-pki-ca-rollover-bundle-reader.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['vault-pki-ca-rollover', 'consumerGate', 'readers', 'revokeVersion'],
  },
  'jwt-signing-key-success.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['jwt-signing-key', 'consumerGate', 'jwks', 'revokeVersion'],
  },
  'jwt-signing-key-rolled-back.json': {
    type: 'rotationWorkflow',
    ends: 'FAILED',
    has: ['jwt-signing-key', 'CanaryFailed'],
  },
  'redis-acl-user-success.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['redis-acl-user', 'revokeVersion'],
  },
  'redis-acl-user-rolled-back.json': {
    type: 'rotationWorkflow',
    ends: 'FAILED',
    has: ['redis-acl-user', 'CanaryFailed'],
  },
  'mariadb-users-success.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['mariadb-users', 'revokeVersion'],
  },
  'mariadb-users-rolled-back.json': {
    type: 'rotationWorkflow',
    ends: 'FAILED',
    has: ['mariadb-users', 'CanaryFailed'],
  },
  // `identity: kubernetes`: started by the controller with its attestation, approved through it, forged actions refused.
  'kube-identity-success.json': {
    type: 'rotationWorkflow',
    ends: 'COMPLETED',
    has: ['attestation', 'verifyOperatorAction', 'approveUpdate'],
  },
  // An incident the controller started: forged pause/abort refused (NotFromController), its pause and abort taken.
  'kube-incident-steered.json': {
    type: 'incidentWorkflow',
    ends: 'COMPLETED',
    has: ['attestation', 'verifyOperatorAction', 'NotFromController', 'abortIncidentUpdate'],
  },
};

describe('replay of recorded histories', () => {
  const results = new Map<string, ReplayResult>();

  // One replay worker (one workflow bundle) for all fixtures.
  beforeAll(async () => {
    const histories = files.map((name) => {
      const { workflowId, ...json } = load(name);
      return { name, workflowId, history: fromHistoryJson(json) };
    });
    // Results come back one per history, in order (several fixtures share a workflow id: the
    // runs of one continued-as-new chain, store locks of one location).
    let i = 0;
    for await (const r of Worker.runReplayHistories(
      {
        ...(bundle
          ? { workflowBundle: { codePath: bundle } }
          : { workflowsPath, interceptors: { workflowModules: workflowInterceptorModules } }),
        // The fixtures are decoded: replay alone accepts plaintext, which a live worker refuses.
        dataConverter: workerDataConverter(env, { acceptPlaintext: true }),
      },
      histories,
    )) {
      const name = histories[i++]?.name ?? '?';
      expect(r.workflowId).toBe(histories.find((h) => h.name === name)?.workflowId);
      results.set(name, r);
    }
  }, 120_000);

  it.each(compatible)('%s replays without error', (name) => {
    const r = results.get(name);
    expect(r).toBeDefined();
    expect(r?.error).toBeUndefined();
  });

  it('incompatible.json fails replay with a determinism violation naming the activity', () => {
    const error = results.get('incompatible.json')?.error;
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect(error?.message).toMatch(/promoteVersionV0/);
  });

  it.each(Object.entries(required))('%s is there and is the path it stands for', (name, want) => {
    expect(files).toContain(name);
    const h = load(name);
    expect(h.workflowType).toBe(want.type);
    expect(eventTypes(h).at(-1)).toBe(`EVENT_TYPE_WORKFLOW_EXECUTION_${want.ends}`);
    const text = fixtureText(h);
    for (const name of want.has ?? []) expect(text).toContain(`"${name}"`);
  });

  // The recorder scans for the rotation's own values; this catches any secret by its shape.
  it.each(files)('%s holds no private key', (name) => {
    expect(secretShapesIn(load(name))).toEqual([]);
  });
});

describe('the fixtures secret scan', () => {
  // A fixture with `value` planted as the result payload of its first completed activity, base64 as stored.
  const planted = (value: string): HistoryFixture => {
    const h = load('rotation-success.json');
    const at = h.events.findIndex((e) => e['activityTaskCompletedEventAttributes']);
    const events = h.events.map((e, i) =>
      i !== at
        ? e
        : {
            ...e,
            activityTaskCompletedEventAttributes: {
              result: {
                payloads: [
                  {
                    metadata: { encoding: Buffer.from('json/plain').toString('base64') },
                    data: Buffer.from(value).toString('base64'),
                  },
                ],
              },
            },
          },
    );
    return { ...h, events };
  };

  it('finds a private key or a private JWK member by shape inside a payload', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    const jwk = privateKey.export({ format: 'jwk' });
    expect(secretShapesIn(planted(JSON.stringify({ key: pem })))).toEqual(['a PEM private key']);
    expect(secretShapesIn(planted(JSON.stringify(jwk)))).toEqual(['a private JWK member "d"']);
    expect(secretShapesIn(planted(JSON.stringify({ kid: 'public', x: jwk.x })))).toEqual([]);
  });

  it("finds a rotation's value, or its password member alone, and never shows it", () => {
    const password = randomBytes(18).toString('base64url');
    const value = JSON.stringify({ username: 'app', password });
    const found = secretValuesIn(planted(JSON.stringify({ echoed: password })), [value]);
    // Plain in the decoded data, base64 in the stored payload (base64url too when they coincide).
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^secret 1 part 2 value in history \(plain, base64/);
    expect(found.join(' ')).not.toContain(password);
    expect(secretValuesIn(load('rotation-success.json'), [value])).toEqual([]);
  });
});
