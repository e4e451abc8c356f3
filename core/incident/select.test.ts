import { describe, expect, it } from 'vitest';
import { playbookSchema } from '../playbook/schema';
import type { PlaybookInput } from '../playbook/schema';
import { backendKeys } from './backends';
import { describeSelector, parseLabelSelector, selects } from './select';
import { nextStartable } from './status';
import type { ChildRecord } from './types';

const playbook = (spec: Partial<PlaybookInput['spec']>, labels?: Record<string, string>) =>
  playbookSchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name: 'p', ...(labels ? { labels } : {}) },
    spec: {
      secret: { name: 'p', store: { type: 'vault', path: 'apps/payments/api' } },
      credential: { kind: 'random' },
      ...spec,
    },
  });

describe('incident selection', () => {
  const vault = playbook(
    { clusters: [{ name: 'a', context: 'cluster-a', delivery: 'push', namespace: 'pay', secretName: 'db' }] },
    { team: 'payments', tier: 'prod' },
  );
  const aws = playbook({ secret: { name: 'p', store: { type: 'aws', secretId: 'prod/db', region: 'eu-west-1' } } });

  it('matches every label of the selector, a store location prefix with or without its type, and a cluster', () => {
    expect(selects({ labels: { team: 'payments' } }, vault)).toBe(true);
    expect(selects({ labels: { team: 'payments', tier: 'dev' } }, vault)).toBe(false);
    expect(selects({ labels: { team: 'payments' } }, aws)).toBe(false);
    expect(selects({ store: 'vault:secret/apps/' }, vault)).toBe(true);
    expect(selects({ store: 'secret/apps/payments' }, vault)).toBe(true);
    expect(selects({ store: 'aws:prod/' }, aws)).toBe(true);
    expect(selects({ store: 'prod/' }, vault)).toBe(false);
    expect(selects({ cluster: 'a' }, vault)).toBe(true);
    expect(selects({ cluster: 'cluster-a' }, vault)).toBe(true);
    expect(selects({ cluster: 'cluster-b' }, vault)).toBe(false);
    expect(selects({}, aws)).toBe(true);
  });

  it('parses k=v pairs and names a malformed one', () => {
    expect(parseLabelSelector('team=payments, tier=prod')).toEqual({ team: 'payments', tier: 'prod' });
    expect(() => parseLabelSelector('team=payments,prod')).toThrow("--selector: 'prod' is not key=value");
    expect(describeSelector({ labels: { team: 'x' }, cluster: 'c' })).toBe('labels team=x and cluster c');
  });

  it('derives one backend key per server a rotation loads', () => {
    expect(backendKeys(vault)).toEqual(['apiserver/cluster-a', 'vault']);
    expect(backendKeys(aws)).toEqual(['secretsmanager/eu-west-1']);
    const pg = playbook({ credential: { kind: 'postgres-alternating-users', roles: ['a', 'b'], host: 'db1' } });
    expect(backendKeys(pg)).toEqual(['postgres/db1:default', 'vault']);
  });
});

describe('nextStartable', () => {
  const rec = (secret: string, backends: string[], state: ChildRecord['state'] = 'pending'): ChildRecord => ({
    secret,
    workflowId: `rotate/${secret}`,
    backends,
    state,
    attempts: 0,
  });

  it('keeps the overall and per-backend bounds and skips a backend backing off', () => {
    const records = [rec('a', ['vault'], 'running'), rec('b', ['vault']), rec('c', ['pg']), rec('d', ['aws'])];
    expect(nextStartable(records, { concurrency: 2, perBackend: 1 }, {}, 0)?.secret).toBe('c');
    expect(nextStartable(records, { concurrency: 1, perBackend: 5 }, {}, 0)).toBeUndefined();
    expect(nextStartable(records, { concurrency: 5, perBackend: 2 }, {}, 0)?.secret).toBe('b');
    expect(nextStartable(records, { concurrency: 5, perBackend: 1 }, { pg: 10 }, 5)?.secret).toBe('d');
    expect(nextStartable(records, { concurrency: 5, perBackend: 1 }, { pg: 10 }, 10)?.secret).toBe('c');
  });
});
