import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { fleetStatus } from '../../inspect/fleet';
import { syncSchedules } from '../../cli/schedules';
import { depsFromEnv } from '../../workers/deps';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startTestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';
import { scheduleIdOf } from '../../core/ids';
import { listSchedules } from '../../inspect/schedules';

useStackEnv();

describe('scheduled rotation', () => {
  it('schedule sync makes a schedule that fires a rotation; a second sync changes nothing; a removed playbook loses its schedule', async () => {
    const ts = await awsTestStore('scheduled-initial-value');
    const before = await ts.snapshot();
    const tw = await startTestWorker(createActivities(depsFromEnv()));
    const playbook = testPlaybook(ts.store, { schedule: { every: '5s' } });
    const secret = playbook.spec.secret.name;
    const entries = [{ file: 'scheduled.yaml', playbook }];
    try {
      const first = await syncSchedules(tw.client, entries, tw.taskQueue);
      expect(first.created).toEqual([scheduleIdOf(secret)]);
      const again = await syncSchedules(tw.client, entries, tw.taskQueue);
      expect(again).toEqual({ created: [], updated: [], unchanged: [scheduleIdOf(secret)], deleted: [] });
      const listed = (await listSchedules(tw.client)).find((s) => s.secret === secret);
      expect(listed?.nextRuns[0]?.getTime()).toBeGreaterThan(Date.now() - 1000);

      // The schedule starts the rotation under the secret's own workflow id, so it never overlaps a manual one.
      const h = tw.client.workflow.getHandle(rotationWorkflowId(secret));
      const result = await tw.run(async () => {
        for (let i = 0; i < 100; i++) {
          const d = await h.describe().catch(() => undefined);
          if (d?.status.name === 'COMPLETED') return d;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error('the schedule did not complete a rotation within 20s');
      });
      expect(result.typedSearchAttributes.get({ name: 'RotationTrigger', type: 'KEYWORD' } as never)).toBe('schedule');
      expect((await ts.snapshot()).currentVersion).not.toBe(before.currentVersion);

      // Visibility is eventually consistent; give the fleet view a moment to see the closed run.
      let status = (await fleetStatus(tw.client, entries))[0];
      for (let i = 0; i < 25 && !status?.lastRotatedAt; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await fleetStatus(tw.client, entries))[0];
      }
      expect(status).toMatchObject({ secret, overdue: false, lastRotation: { outcome: 'rotated' } });
      expect(status?.nextDue).not.toBeNull();

      const changed = testPlaybook(ts.store, { schedule: { every: '1h' } });
      const updated = await syncSchedules(
        tw.client,
        [{ file: 'scheduled.yaml', playbook: { ...changed, spec: { ...changed.spec, secret: playbook.spec.secret } } }],
        tw.taskQueue,
      );
      expect(updated.updated).toEqual([scheduleIdOf(secret)]);
    } finally {
      const removed = await syncSchedules(tw.client, [], tw.taskQueue);
      expect(removed.deleted).toContain(scheduleIdOf(secret));
      await tw.close();
    }
  });
});
