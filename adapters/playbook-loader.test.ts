import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlaybookError, loadPlaybook, parsePlaybook } from './playbook-loader';

const run = promisify(execFile);

/** Runs the CLI as a user would, returning its exit code and output instead of throwing. */
async function rotor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const shipped = (await readdir('playbooks')).filter((f) => f.endsWith('.yaml')).map((f) => join('playbooks', f));

/** A valid playbook except for what `spec` (YAML lines under `spec:`) says. */
function doc(spec: string): string {
  return ['apiVersion: rotor.dev/v1', 'kind: RotationPlaybook', 'metadata:', '  name: demo', 'spec:', spec].join('\n');
}
const secret = '  secret: { name: demo, store: { type: aws, secretId: rotor-demo/x } }\n  credential: { kind: random }';
const cluster = (name: string, delivery = 'push') =>
  `    - { name: ${name}, delivery: ${delivery}, namespace: payments, secretName: api-key }`;

function problems(text: string): string[] {
  try {
    parsePlaybook(text, 'bad.yaml');
  } catch (e) {
    if (e instanceof PlaybookError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected the playbook to be invalid');
}

describe('shipped playbooks', () => {
  it('there are the three examples', () => {
    expect(shipped).toEqual(
      expect.arrayContaining([
        'playbooks/vault-api-key.yaml',
        'playbooks/aws-api-key.yaml',
        'playbooks/multi-cluster.yaml',
      ]),
    );
  });

  it.each(shipped)('%s validates', async (file) => {
    const playbook = await loadPlaybook(file);
    expect(playbook.apiVersion).toBe('rotor.dev/v1');
  });

  it('multi-cluster.yaml uses every section: clusters in two waves, approval, schedule, both canary kinds', async () => {
    const { spec } = await loadPlaybook('playbooks/multi-cluster.yaml');
    expect(spec.clusters.map((c) => [c.name, c.delivery, c.namespace, c.secretName])).toEqual([
      ['cluster-a', 'eso', 'payments', 'payments-api-key'],
      ['cluster-b', 'push', 'payments', 'payments-api-key'],
      ['cluster-c', 'eso', 'payments', 'payments-api-key'],
    ]);
    expect(spec.waves).toEqual([['cluster-a'], ['cluster-b', 'cluster-c']]);
    expect(spec.approval.beforeRevoke).toBe(true);
    expect(spec.schedule).toEqual({ every: 90 * 86_400_000, jitter: 86_400_000 });
    expect(spec.canaries.map((c) => c.type)).toEqual(['command', 'http']);
  });
});

describe('invalid playbooks name the path and the problem', () => {
  it('a missing field is Required', () => {
    expect(problems(doc('  secret:\n    store: { type: aws, secretId: x }\n  credential: { kind: random }'))).toEqual([
      'bad.yaml: spec.secret.name: Required',
    ]);
  });

  it('a missing field inside a list names the index', () => {
    expect(
      problems(
        doc(
          `${secret}\n  clusters:\n${cluster('cluster-a')}\n    - { name: cluster-b, namespace: payments, secretName: api-key }`,
        ),
      ),
    ).toEqual(['bad.yaml: spec.clusters[1].delivery: Required']);
  });

  it('an unknown field is refused with its name', () => {
    expect(problems(doc(`${secret}\n  soakTime: 10m`))).toEqual([
      'bad.yaml: spec.soakTime: unknown field; remove it or fix the spelling',
    ]);
  });

  it('a bad duration', () => {
    expect(problems(doc(`${secret}\n  soak: ten minutes`))).toEqual([
      "bad.yaml: spec.soak: 'ten minutes' is not a duration; write e.g. 30s, 10m, 2h, 90d or 1h30m",
    ]);
  });

  it('a wave naming an unknown cluster', () => {
    expect(
      problems(
        doc(
          `${secret}\n  clusters:\n${cluster('cluster-a')}\n${cluster('cluster-b')}\n  waves: [[cluster-a], [cluster-b, cluster-z]]`,
        ),
      ),
    ).toEqual([
      "bad.yaml: spec.waves[1][1]: 'cluster-z' is not a cluster of spec.clusters; write one of: cluster-a, cluster-b",
    ]);
  });

  it('a duplicate cluster', () => {
    expect(problems(doc(`${secret}\n  clusters:\n${cluster('cluster-a')}\n${cluster('cluster-a', 'eso')}`))).toEqual([
      "bad.yaml: spec.clusters[1].name: cluster 'cluster-a' is listed twice (also clusters[0]); give each entry its own name",
    ]);
  });

  it('every problem of a document, not just the first', () => {
    expect(
      problems(doc('  secret:\n    store: { type: aws, secretId: x }\n  credential: { kind: random }\n  soak: soon')),
    ).toEqual([
      'bad.yaml: spec.secret.name: Required',
      "bad.yaml: spec.soak: 'soon' is not a duration; write e.g. 30s, 10m, 2h, 90d or 1h30m",
    ]);
  });
});

describe('rotor validate', () => {
  let dir: string;
  let bad: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rotor-validate-'));
    bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      doc(`${secret}\n  clusters:\n${cluster('cluster-a')}\n${cluster('cluster-a', 'eso')}\n  soak: ten minutes`),
    );
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('exits 0 and prints ok for each shipped playbook', async () => {
    const r = await rotor('validate', ...shipped);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(shipped.map((f) => `ok ${f}`));
  });

  it('exits 1 and prints every problem as file: path: message, still reporting valid files', async () => {
    const r = await rotor('validate', 'playbooks/aws-api-key.yaml', bad);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'ok playbooks/aws-api-key.yaml',
      `${bad}: spec.soak: 'ten minutes' is not a duration; write e.g. 30s, 10m, 2h, 90d or 1h30m`,
    ]);
  });

  it('reports refinement problems once the document is otherwise valid', async () => {
    await writeFile(bad, doc(`${secret}\n  clusters:\n${cluster('cluster-a')}\n${cluster('cluster-a', 'eso')}`));
    const r = await rotor('validate', bad);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}: spec.clusters[1].name: cluster 'cluster-a' is listed twice`);
  });

  it('a missing file is a problem, not a crash', async () => {
    const r = await rotor('validate', join(dir, 'nope.yaml'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${join(dir, 'nope.yaml')}: cannot read playbook: ENOENT`);
  });

  it('the bin shim runs the same CLI', async () => {
    const { stdout } = await run(process.execPath, ['cli/rotor.cjs', 'validate', 'playbooks/aws-api-key.yaml']);
    expect(stdout).toBe('ok playbooks/aws-api-key.yaml\n');
  });
});
