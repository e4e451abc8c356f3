/**
 * The fleet commands as an operator runs them: `rotor schedule sync` (twice: the second changes
 * nothing), `schedule list`, `status --json`, and sync of an emptied directory deleting the
 * schedule. Plus the worker's overdue gauge from the same fleet view.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { refreshOverdue } from '../../inspect/overdue';
import type { SecretStatus } from '../../inspect/fleet';
import { RotorMetrics } from '../../workers/metrics';
import { connectClient } from '../../adapters/temporal/connection';
import { testPlaybook } from '../helpers/playbooks';
import { runRotor } from '../helpers/cli';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';

const env = { ...process.env, ...useStackEnv() };

const rotor = (...args: string[]) => runRotor(env, ...args);

describe('rotor schedule and status', () => {
  it('sync is idempotent, list shows the next run, status reports the secret overdue until rotated, and an emptied dir deletes the schedule', async () => {
    const ts = await awsTestStore('fleet-initial-value');
    const playbook = testPlaybook(ts.store, { schedule: { every: '30d', jitter: '1h' } });
    const secret = playbook.spec.secret.name;
    const dir = mkdtempSync(join(tmpdir(), 'rotor-fleet-'));
    const pbDir = join(dir, 'playbooks');
    mkdirSync(pbDir);
    writeFileSync(join(pbDir, `${secret}.yaml`), stringify(playbook));

    const first = await rotor('schedule', 'sync', pbDir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`created   rotor/${secret}`);
    const second = await rotor('schedule', 'sync', pbDir, '--json');
    expect(JSON.parse(second.stdout)).toEqual({
      created: [],
      updated: [],
      unchanged: [`rotor/${secret}`],
      deleted: [],
    });

    const list = await rotor('schedule', 'list');
    expect(list.stdout).toMatch(new RegExp(`${secret}\\s+next \\d{4}-\\d{2}-\\d{2}T`));

    const status = await rotor('status', pbDir, '--json');
    expect(status.code).toBe(0);
    const fleet = JSON.parse(status.stdout) as SecretStatus[];
    expect(fleet).toEqual([
      expect.objectContaining({
        secret,
        lastRotation: null,
        overdue: true,
        running: null,
        intervalMs: 30 * 86_400_000,
      }),
    ]);
    expect(fleet[0]?.nextDue).not.toBeNull();

    const metrics = new RotorMetrics();
    const client = await connectClient();
    try {
      expect(await refreshOverdue(metrics, client, [{ file: 'x.yaml', playbook }])).toEqual([secret]);
      expect(await metrics.registry.getSingleMetricAsString('rotor_overdue_secrets')).toMatch(
        /rotor_overdue_secrets 1/,
      );
    } finally {
      await client.connection.close();
    }

    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const removed = await rotor('schedule', 'sync', empty);
    expect(removed.stdout).toContain(`deleted   rotor/${secret}`);
  });

  it('refuses to sync a directory with an invalid playbook, changing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-fleet-bad-'));
    writeFileSync(
      join(dir, 'broken.yaml'),
      'apiVersion: rotor.dev/v1\nkind: RotationPlaybook\nmetadata: { name: broken }\nspec: {}\n',
    );
    const r = await rotor('schedule', 'sync', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'broken.yaml')}: spec.secret: Required`);
    expect(r.stderr).toContain('nothing was changed');
  });
});
