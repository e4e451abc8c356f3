/**
 * Issue 24, schedules across tenants: under a two-tenant policy, `rotor schedule sync <dir>` of one
 * tenant never deletes or takes over the other's schedules, from the position of the other tenant's
 * user running sync on their own directory. Each schedule is described before and after (its note
 * records spec, action and tenant); the last test shows the comparison reports a deliberate change.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncSchedules } from '../../cli/schedules';
import { loadPolicyFile } from '../../adapters/policy-file';
import { connectClient } from '../../adapters/temporal/connection';
import { scheduleIdOf } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { changesBetween, reportedChanges, snapshotVictims } from '../helpers/victims';
import type { Probe } from '../helpers/victims';

useStackEnv();
const dir = mkdtempSync(join(tmpdir(), 'rotor-schedule-tenants-'));
const policyFile = join(dir, 'policy.yaml');
writeFileSync(
  policyFile,
  [
    'apiVersion: rotor.dev/v1',
    'kind: RotorPolicy',
    'tenants:',
    '  - { name: payments, match: { directories: [playbooks/payments] }, allow: { vault: [{ mount: secret, pathPrefix: apps/payments }] } }',
    '  - { name: orders, match: { directories: [playbooks/orders] }, allow: { vault: [{ mount: secret, pathPrefix: apps/orders }] } }',
    '',
  ].join('\n'),
);
const policy = loadPolicyFile(policyFile);
const taskQueue = `schedule-tenants-${randomUUID()}`;
let client: Client;
let orders: Playbook;
const ordersFile = 'playbooks/orders/db.yaml';
const entryOf = (file: string, playbook: Playbook) => ({ file, playbook });
let victims: Record<string, Probe>;

/** A schedule as Temporal holds it: absent, or its note (tenant and digest of what was synced) and state. */
function scheduleProbe(id: string): Probe {
  return async () => {
    const d = await client.schedule
      .getHandle(id)
      .describe()
      .catch((e: unknown) => {
        if (e instanceof ScheduleNotFoundError) return undefined;
        throw e;
      });
    return d ? { note: d.state.note, paused: d.state.paused, spec: d.spec } : 'absent';
  };
}

beforeAll(async () => {
  client = await connectClient();
  orders = testPlaybook({ type: 'vault', mount: 'secret', path: 'apps/orders/db', key: 'value' });
  const created = await syncSchedules(client, [entryOf(ordersFile, orders)], taskQueue, policy);
  expect(created.created).toEqual([scheduleIdOf(orders.spec.secret.name)]);
  victims = { "orders' schedule": scheduleProbe(scheduleIdOf(orders.spec.secret.name)) };
});

afterAll(async () => {
  await client.schedule
    .getHandle(scheduleIdOf(orders.spec.secret.name))
    .delete()
    .catch(() => undefined);
  await client.connection.close();
});

async function unchanged<T>(attack: () => Promise<T>): Promise<T> {
  const before = await snapshotVictims(victims);
  const result = await attack();
  expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
  return result;
}

describe("schedule sync of one tenant's directory", () => {
  it("does not delete another tenant's schedules (an empty payments directory)", async () => {
    const result = await unchanged(() => syncSchedules(client, [], taskQueue, policy));
    expect(result.deleted).not.toContain(scheduleIdOf(orders.spec.secret.name));
  });

  it("does not delete another tenant's schedules when syncing its own playbooks", async () => {
    const own = testPlaybook({ type: 'vault', mount: 'secret', path: 'apps/payments/db', key: 'value' });
    try {
      const result = await unchanged(() =>
        syncSchedules(client, [entryOf('playbooks/payments/db.yaml', own)], taskQueue, policy),
      );
      expect(result).toMatchObject({ created: [scheduleIdOf(own.spec.secret.name)], deleted: [] });
    } finally {
      await client.schedule.getHandle(scheduleIdOf(own.spec.secret.name)).delete();
    }
  });

  it("refuses a secret name another tenant's schedule holds, before changing anything", async () => {
    // A payments playbook that takes orders' secret name, over its own store.
    const squat = testPlaybook({ type: 'vault', mount: 'secret', path: 'apps/payments/db', key: 'value' });
    squat.spec.secret.name = orders.spec.secret.name;
    const other = testPlaybook({ type: 'vault', mount: 'secret', path: 'apps/payments/other', key: 'value' });
    await unchanged(() =>
      expect(
        syncSchedules(
          client,
          [entryOf('playbooks/payments/other.yaml', other), entryOf('playbooks/payments/db.yaml', squat)],
          taskQueue,
          policy,
        ),
      ).rejects.toThrow(
        `playbooks/payments/db.yaml: schedule ${scheduleIdOf(orders.spec.secret.name)} belongs to tenant orders, not payments; secret names are one tenant's each: rename the secret (nothing was changed)`,
      ),
    );
    // Nothing of the refused sync was created either.
    expect(await scheduleProbe(scheduleIdOf(other.spec.secret.name))()).toBe('absent');
  });
});

describe('the "nothing changed" comparison', () => {
  it("reports a deliberate change to orders' schedule", async () => {
    expect(
      await reportedChanges(victims, {
        "orders' schedule": () => client.schedule.getHandle(scheduleIdOf(orders.spec.secret.name)).pause('test'),
      }),
    ).toEqual([{ changed: "orders' schedule", reported: ["orders' schedule"] }]);
  });
});
