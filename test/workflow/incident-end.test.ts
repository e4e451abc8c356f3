/**
 * An incident ends when its last rotation does, even when that rotation ended while the incident
 * was asking its running rotations whether one needs attention (a measured incident of 100 secrets
 * ended 60 s after its last child: the ask took 14.5 s, the last children ended during it, and the
 * incident then slept until its next poll). On the time-skipping server: the ask itself approves the
 * one rotation, waits for it to end, then answers.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { StuckRotation } from '../../activities/incident';
import type { IncidentInput, IncidentReport } from '../../core/incident/types';
import { approveUpdate } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { useTimeSkipping } from '../helpers/time-skipping';

let asked = 0;
const ts = useTimeSkipping({
  activities: {
    async rotationsNeedingAttention(workflowIds: string[]): Promise<StuckRotation[]> {
      asked++;
      for (const id of workflowIds) {
        const h = ts.server().client.workflow.getHandle(id);
        await h.executeUpdate(approveUpdate, { args: [{ by: 'bob@test' }] });
        await h.result();
      }
      return [];
    },
  },
});

/** Workflow time of a run's last event (its close). */
async function closedAt(h: WorkflowHandle): Promise<number> {
  const events = (await h.fetchHistory()).events ?? [];
  const t = events.at(-1)?.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

describe('the end of an incident', () => {
  it('comes with its last rotation, also when that one ended while the incident asked for attention', async () => {
    const playbook = testPlaybook(
      { type: 'aws', secretId: `rotor-test/incident-end-${randomUUID().slice(0, 8)}` },
      { approval: { beforeRevoke: true } },
    );
    const input: IncidentInput = {
      reason: 'key leaked',
      requestedBy: 'oncall@test',
      // Not a compromise: the rotation waits at its approval gate, past the incident's first poll.
      compromised: false,
      selection: 'test',
      targets: [{ playbook, playbookFile: 'p.yaml' }],
      concurrency: 1,
      perBackend: 1,
    };
    const h = await ts.server().client.workflow.start('incidentWorkflow', {
      taskQueue: ts.taskQueue,
      workflowId: `incident/end-${randomUUID().slice(0, 8)}`,
      args: [input],
    });
    const report = (await h.result()) as IncidentReport;
    expect(report.rotated).toEqual([playbook.spec.secret.name]);
    expect(asked).toBe(1);
    const child = ts.server().client.workflow.getHandle(`rotate/${playbook.spec.secret.name}`);
    const lag = (await closedAt(h)) - (await closedAt(child));
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(10_000);
  });
});
