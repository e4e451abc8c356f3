/**
 * The playbook rules that keep rotor from accepting what would break at run time: timer bounds,
 * store paths, Kubernetes Secret keys, two entries on one Secret, repeated canary names. Each refusal
 * names the field's path and what to write instead.
 */
import { describe, expect, it } from 'vitest';
import { maxTimerMs } from './duration';
import { validatePlaybook } from './validate';

const base = () => ({
  apiVersion: 'rotor.dev/v1',
  kind: 'RotationPlaybook',
  metadata: { name: 'demo' },
  spec: {
    secret: { name: 'demo', store: { type: 'vault', mount: 'secret', path: 'apps/demo' } },
    credential: { kind: 'random' },
  } as Record<string, unknown>,
});

/** `path: message` of every problem, for a playbook whose spec has `over` merged in. */
function problems(over: Record<string, unknown>): string[] {
  const doc = base();
  Object.assign(doc.spec, over);
  const r = validatePlaybook(doc, 'p.yaml');
  return 'problems' in r ? r.problems.map((p) => `${p.path}: ${p.message}`) : [];
}

const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  delivery: 'push',
  namespace: 'payments',
  secretName: 'api-key',
  ...extra,
});

describe('durations used as timers', () => {
  it('refuses 0 and over 24.8 days, naming the field and what to write', () => {
    expect(problems({ timeouts: { canary: '0s' }, soak: '25d' })).toEqual([
      'spec.timeouts.canary: must be longer than 0; write e.g. 30s, 10m or 2h',
      `spec.soak: ${25 * 86_400_000}ms is longer than a Temporal timer holds (about 24.8 days, it would fire at once); write at most 24d`,
    ]);
    expect(problems({ clusters: [cluster('a', { timeout: 0 })] })).toEqual([
      'spec.clusters[0].timeout: must be longer than 0; write e.g. 30s, 10m or 2h',
    ]);
    expect(problems({ canaries: [{ type: 'command', name: 'c', command: ['true'], timeout: '30d' }] })[0]).toMatch(
      /^spec\.canaries\[0\]\.timeout: .*write at most 24d$/,
    );
  });

  it('accepts the limit itself, a soak of 0 and a schedule interval longer than a timer', () => {
    expect(problems({ timeouts: { revoke: maxTimerMs }, soak: 0, schedule: { every: '365d' } })).toEqual([]);
  });

  it('refuses a schedule interval of 0 and a jitter not shorter than the interval', () => {
    expect(problems({ schedule: { every: '0d' } })).toEqual([
      'spec.schedule.every: must be longer than 0; write e.g. 90d',
    ]);
    expect(problems({ schedule: { every: '1h', jitter: '2h' } })).toEqual([
      'spec.schedule.jitter: must be shorter than schedule.every; write e.g. 1h',
    ]);
  });
});

describe('store paths', () => {
  it.each([
    ['apps/../other', "'..' segment"],
    ['apps/./demo', "'.' segment"],
    ['apps//demo', 'empty segment'],
    ['/apps/demo', 'empty segment'],
    ['apps/demo/', 'empty segment'],
    ['apps/demo#x', "contains '#'"],
    ['apps/demo?version=1', "contains '#' or '?'"],
    // Decoded by the HTTP client into apps/payments/../orders/db: another team's entry.
    ['apps/payments/%2e%2e/orders/db', "contains '%'"],
    ['apps/payments/%252e%252e/orders', "contains '%'"],
    ['apps/payments/db name', 'characters outside letters, digits'],
    ['apps/payments/ｄb', 'characters outside letters, digits'],
    ['apps\\..\\orders', 'characters outside letters, digits'],
  ])('refuses %s (%s)', (path, why) => {
    const doc = base();
    doc.spec['secret'] = { name: 'demo', store: { type: 'vault', path } };
    const r = validatePlaybook(doc, 'p.yaml');
    const found = 'problems' in r ? r.problems : [];
    expect(found.map((p) => p.path)).toEqual(['spec.secret.store.path']);
    expect(found[0]?.message).toContain(why);
  });

  it('refuses a mount with a .. segment and an AWS secret id AWS would refuse', () => {
    const doc = base();
    doc.spec['secret'] = { name: 'demo', store: { type: 'vault', mount: '..', path: 'x' } };
    const r = validatePlaybook(doc, 'p.yaml');
    expect('problems' in r && r.problems.map((p) => p.path)).toEqual(['spec.secret.store.mount']);
    doc.spec['secret'] = { name: 'demo', store: { type: 'aws', secretId: 'apps demo' } };
    const a = validatePlaybook(doc, 'p.yaml');
    expect('problems' in a && a.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'spec.secret.store.secretId: AWS refuses this secret name; use letters, digits and / _ + = . @ - (or an ARN)',
    ]);
  });
});

describe('names Vault reads as path segments (database mounts, roles, connections)', () => {
  it.each([
    ['vault-database-static-role', 'role', '../../sys/raw'],
    ['vault-database-static-role', 'role', 'payments%2f..%2forders'],
    ['vault-database-static-role', 'connection', 'a/b'],
    ['vault-database-dynamic-role', 'role', '..'],
    ['vault-database-dynamic-role', 'role', 'orders%2e%2e'],
    ['vault-database-dynamic-role', 'connection', 'x y'],
    ['vault-database-dynamic-role', 'mount', 'database/%2e%2e'],
  ])('refuses a %s whose %s is %s, naming the field', (kind, field, value) => {
    const credential = { kind, mount: 'database', role: 'payments', connection: 'main', [field]: value };
    const found = problems({ credential });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^spec\\.credential\\.${field}: `));
  });

  it('accepts the names Vault and the stack use', () => {
    expect(
      problems({
        credential: { kind: 'vault-database-dynamic-role', role: 'payments-ro', connection: 'rotor-db_1.main' },
      }),
    ).toEqual([]);
  });
});

describe('Kubernetes Secret keys (dualRead)', () => {
  it.each(['has space', 'ü', '..hidden', '.', 'a/b', 'x'.repeat(254)])('refuses %j', (key) => {
    const found = problems({ dualRead: { currentKey: key } });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^spec\.dualRead\.currentKey: .+/);
  });

  it('accepts what Kubernetes accepts', () => {
    expect(problems({ dualRead: { currentKey: 'tls.crt', otherKey: 'tls_old-1.crt' } })).toEqual([]);
  });
});

describe('one Secret, one entry; one name, one canary', () => {
  it('refuses two entries aimed at the same context, namespace and Secret', () => {
    expect(
      problems({
        clusters: [cluster('a'), cluster('b', { context: 'a' }), cluster('c', { context: 'a', namespace: 'other' })],
      }),
    ).toEqual([
      'spec.clusters[1].secretName: clusters[0] already delivers to this context, namespace and Secret; remove this entry or name another secretName',
    ]);
  });

  it('refuses repeated canary names', () => {
    const c = { type: 'command', name: 'smoke', command: ['true'] };
    expect(problems({ canaries: [c, { ...c, name: 'other' }, c] })).toEqual([
      "spec.canaries[2].name: canaries[0] already has the name 'smoke'; give each canary its own name",
    ]);
  });
});

describe('a vault-pki-certificate', () => {
  const credential = { kind: 'vault-pki-certificate', role: 'web', commonName: 'web.example.com' };

  it('is delivered as a kubernetes.io/tls Secret rotor writes: eso delivery is refused, naming the cluster', () => {
    expect(problems({ credential, clusters: [cluster('a'), cluster('b', { delivery: 'eso' })] })).toEqual([
      'spec.clusters[1].delivery: a vault-pki-certificate is delivered as a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) that rotor writes itself; write delivery: push (or observe)',
    ]);
    expect(problems({ credential, clusters: [cluster('a'), cluster('b', { delivery: 'observe' })] })).toEqual([]);
  });

  it('takes DNS names only, and a tls-handshake canary no wildcard server name', () => {
    expect(
      problems({
        credential: { ...credential, commonName: 'Web.example.com', altNames: ['a b'] },
        canaries: [{ type: 'tls-handshake', name: 'hs', serverName: '*.example.com' }],
      }),
    ).toEqual([
      'spec.credential.commonName: must be a lowercase DNS name (labels of a-z, 0-9, -), optionally starting with *.',
      'spec.credential.altNames[0]: must be a lowercase DNS name (labels of a-z, 0-9, -), optionally starting with *.',
      'spec.canaries[0].serverName: must be a name a client connects to, not a wildcard',
    ]);
  });
});
