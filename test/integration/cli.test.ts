import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PlaybookInput } from '../../core/playbook/schema';
import { connectClient, uiLink } from '../../adapters/temporal/connection';
import { statusQuery } from '../../workflows/definitions';
import { useStackEnv } from '../helpers/stack-env';
import { runRotorWithin } from '../helpers/cli';
import type { CliRun } from '../helpers/cli';
import { repoRoot, workerArgs } from '../helpers/entry-points';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { rotationWorkflowId } from '../../core/ids';

const env: NodeJS.ProcessEnv = { ...process.env, ...useStackEnv(), ROTOR_TASK_QUEUE: `cli-${randomUUID()}` };

/** `rotor …` as a subprocess against the test worker's task queue; never throws on exit codes. */
const rotor = (...args: string[]): Promise<CliRun> => runRotorWithin(150_000, env, ...args);

let dir: string;
let worker: ChildProcess;
let workerLog = '';

/** A temporary copy of a shipped playbook rotating `ts`'s secret under a unique name. */
async function playbookFor(
  shipped: string,
  ts: TestStore,
  spec: Partial<PlaybookInput['spec']> = {},
): Promise<{ file: string; secret: string }> {
  const doc = parse(await readFile(join('playbooks', shipped), 'utf8')) as PlaybookInput;
  const secret = `cli-${randomUUID().slice(0, 8)}`;
  doc.metadata.name = secret;
  Object.assign(doc.spec, { secret: { name: secret, store: ts.store } }, spec);
  const file = join(dir, `${secret}.yaml`);
  await writeFile(file, stringify(doc));
  return { file, secret };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotor-cli-'));
  // The real worker entry point (test/helpers/entry-points.ts).
  worker = spawn(process.execPath, workerArgs(), {
    cwd: repoRoot,
    // Metrics off: other test workers (and a developer's own) run beside this one.
    env: { ...env, ROTOR_METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      workerLog += chunk.toString();
      if (workerLog.includes('rotor worker started')) resolve();
    };
    worker.stdout?.on('data', onData);
    worker.stderr?.on('data', onData);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${workerLog.slice(-2000)}`)));
  });
  await started;
});

afterAll(async () => {
  if (worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (worker.exitCode === null) worker.kill('SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
});

describe('rotor CLI against a real worker', () => {
  it('rotate --wait rotates an AWS secret: exit 0, UI link printed, new AWSCURRENT, value never printed', async () => {
    const ts = await awsTestStore('initial-cli-value-0123456789');
    const before = await ts.snapshot();
    const { file, secret } = await playbookFor('aws-api-key.yaml', ts);
    const r = await rotor('rotate', file, '--wait', '--reason', 'cli test');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${uiLink(rotationWorkflowId(secret))}/`);
    expect(r.stdout).toContain(`✔ rotated ${secret}`);
    const after = await ts.snapshot();
    expect(after.currentVersion).not.toBe(before.currentVersion);
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.currentValue).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(r.stdout + r.stderr).not.toContain(after.currentValue);

    // The finished run, again as JSON lines: every line parses; the last is the result.
    const w = await rotor('watch', secret, '--json');
    expect(w.code, w.stderr).toBe(0);
    const events = w.stdout
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { event: string; outcome?: string; exitCode?: number; status?: { phase: string } },
      );
    expect(events[0]?.event).toBe('watching');
    expect(events.some((e) => e.event === 'status')).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'result', outcome: 'rotated', exitCode: 0 });
    expect(w.stdout).not.toContain(after.currentValue);
  });

  it('a failing canary: exit 2, the failure chain printed, AWSCURRENT unchanged', async () => {
    const ts = await awsTestStore('initial-cli-canary-value');
    const before = await ts.snapshot();
    const { file, secret } = await playbookFor('aws-api-key.yaml', ts, {
      canaries: [{ type: 'command', name: 'rejects', command: ['sh', '-c', 'exit 1'] }],
    });
    const r = await rotor('rotate', file, '--wait');
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toContain(uiLink(rotationWorkflowId(secret)));
    expect(r.stderr).toContain('rolled back');
    expect(r.stderr).toContain('RotationRolledBack');
    expect(r.stderr).toMatch(/caused by: CanaryFailed: canary 'rejects' failed: sh exit 1/);
    const after = await ts.snapshot();
    expect(after).toMatchObject({
      currentVersion: before.currentVersion,
      currentValue: before.currentValue,
      pendingVersion: null,
    });
  });

  it('rotate --json --wait prints only JSON lines: started, statuses, result', async () => {
    const ts = await awsTestStore('initial-cli-json-value');
    const { file } = await playbookFor('aws-api-key.yaml', ts);
    const r = await rotor('rotate', file, '--wait', '--json');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events[0]).toBe('started');
    expect(events.at(-1)).toBe('result');
    expect(events.slice(1, -1).every((e) => e === 'status')).toBe(true);
  });

  it('usage errors exit 1 naming the flag, before anything starts', async () => {
    const ts = await awsTestStore('initial-cli-usage-value');
    const { file } = await playbookFor('aws-api-key.yaml', ts);
    const noReason = await rotor('rotate', file, '--emergency');
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain('--emergency requires --reason');
    const compromised = await rotor('rotate', file, '--compromised', '--reason', 'leak');
    expect(compromised.code).toBe(1);
    expect(compromised.stderr).toContain('--compromised requires --emergency');
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: rotor.dev/v1\nkind: RotationPlaybook\nmetadata: { name: bad }\nspec: {}\n',
    );
    const invalid = await rotor('rotate', join(dir, 'bad.yaml'));
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`${join(dir, 'bad.yaml')}: spec.secret: Required`);
  });

  it('one rotation per secret; approve, a rejected second approve, skip-soak, then watch to the end', async () => {
    const ts = await awsTestStore('initial-cli-gated-value');
    const { file, secret } = await playbookFor('aws-api-key.yaml', ts, {
      soak: '10m',
      approval: { beforeRevoke: true },
    });
    const started = await rotor('rotate', file);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(uiLink(rotationWorkflowId(secret)));

    const again = await rotor('rotate', file);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `a rotation of ${secret} is already running: workflow ${rotationWorkflowId(secret)}`,
    );
    expect(again.stderr).toContain(uiLink(rotationWorkflowId(secret)));

    const approve = await rotor('approve', secret, '--by', 'alice');
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain('approved by alice');
    const twice = await rotor('approve', secret, '--by', 'bob');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('rejected: already approved by alice');

    const skip = await rotor('skip-soak', secret, '--by', 'alice');
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toContain(uiLink(rotationWorkflowId(secret)));
    const watch = await rotor('watch', secret);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).toContain('ended early by skip-soak');
    expect(watch.stdout).toContain(`✔ rotated ${secret}`);
  });

  it('abort at the approval gate rolls back: watch exits 2; a closed rotation refuses operator actions', async () => {
    const ts = await awsTestStore('initial-cli-abort-value');
    const before = await ts.snapshot();
    const { file, secret } = await playbookFor('aws-api-key.yaml', ts, { approval: { beforeRevoke: true } });
    expect((await rotor('rotate', file)).code).toBe(0);
    const client = await connectClient(env);
    try {
      const handle = client.workflow.getHandle(rotationWorkflowId(secret));
      await until('the approval gate', async () => (await handle.query(statusQuery)).awaitingApproval);
    } finally {
      await client.connection.close();
    }
    const abort = await rotor('abort', secret, '--by', 'bob', '--reason', 'wrong window');
    expect(abort.code, abort.stderr).toBe(0);
    const watch = await rotor('watch', secret);
    expect(watch.code, watch.stdout + watch.stderr).toBe(2);
    expect(watch.stderr).toContain('RotationAborted');
    expect(watch.stderr).toContain('aborted by bob: wrong window during approval');
    expect(await ts.snapshot()).toMatchObject({
      currentVersion: before.currentVersion,
      currentValue: before.currentValue,
      pendingVersion: null,
    });

    const late = await rotor('pause', secret);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`no running rotation ${rotationWorkflowId(secret)}`);
  });

  it('rotate --wait rotates a Vault KV v2 secret', async () => {
    const ts = await vaultTestStore('initial-cli-vault-value');
    const before = await ts.snapshot();
    const { file, secret } = await playbookFor('vault-api-key.yaml', ts);
    const r = await rotor('rotate', file, '--wait');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${uiLink(rotationWorkflowId(secret))}/`);
    const after = await ts.snapshot();
    expect(after.currentVersion).not.toBe(before.currentVersion);
    expect(after.currentValue).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(r.stdout + r.stderr).not.toContain(after.currentValue);
  });
});
