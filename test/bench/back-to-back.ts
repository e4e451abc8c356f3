/**
 * The rotation loop the zero-downtime benchmarks share: rotations back to back on a test worker,
 * first with the consumer gate on, then off, each printed with the failures counted so far.
 */
import { cpus, loadavg } from 'node:os';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationStatus, StageName } from '../../core/status';
import { statusQuery } from '../../workflows/definitions';
import { outcomeOf } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

/** Failed and attempted uses of the credential so far (logins, handshakes, verifications). */
export interface Counts {
  attempts: number;
  failed: number;
}

/** What the loop needs from a benchmark: how many rotations, what it counts and what it calls it. */
export interface BackToBack {
  /** Rotations with the gate on, then off; 0 skips that half. */
  on: number;
  off: number;
  /** Plural noun for a use of the credential, e.g. "logins". */
  noun: string;
  counts(): Counts;
  /** Appended to each progress and summary line (e.g. failure reasons). */
  extra?: () => string;
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const stageMs = (s: RotationStatus, name: StageName) => {
  const st = s.stages.find((x) => x.name === name);
  return st?.startedAt !== undefined && st.endedAt !== undefined ? st.endedAt - st.startedAt : 0;
};

/**
 * Rotates `base` back to back (see the file comment) and returns one summary line per half:
 * failures counted until 5 s (gate on) or 80 s (gate off, past the kubelet's 1 m sync period)
 * after its last rotation, time per rotation and the gate's share.
 */
export async function rotateBackToBack(tw: TestWorker, base: Playbook, b: BackToBack): Promise<string[]> {
  const results: string[] = [];
  const extra = () => (b.extra ? `; ${b.extra()}` : '');
  for (const [gate, n] of [
    [true, b.on],
    [false, b.off],
  ] as const) {
    if (n <= 0) continue;
    const playbook = {
      ...base,
      spec: { ...base.spec, consumerGate: { ...base.spec.consumerGate, enabled: gate } },
    };
    const start = b.counts();
    const since = () => {
      const now = b.counts();
      return `${now.failed - start.failed} of ${now.attempts - start.attempts}`;
    };
    const times: number[] = [];
    const gateTimes: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      const status = await tw.run(async () => {
        const h = await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [{ playbook, trigger: 'manual', requestedBy: 'bench' }],
        });
        const o = await outcomeOf(h);
        if (!o.ok) throw new Error(`rotation ${i + 1} (gate ${gate ? 'on' : 'off'}) failed: ${o.error.message}`);
        return h.query<RotationStatus>(statusQuery);
      });
      times.push(Date.now() - t0);
      gateTimes.push(stageMs(status, 'promote-gate') + stageMs(status, 'revoke-gate'));
      console.log(
        `gate ${gate ? 'on ' : 'off'} rotation ${i + 1}/${n}: ${secs(times[i] ?? 0)} (gate ${secs(gateTimes[i] ?? 0)}), failed ${b.noun} so far ${since()}${extra()}`,
      );
    }
    // Uses go on a little after the last revoke: failures show up late.
    await new Promise((r) => setTimeout(r, gate ? 5_000 : 80_000));
    const total = times.reduce((x, y) => x + y, 0);
    const gateTotal = gateTimes.reduce((x, y) => x + y, 0);
    results.push(
      `gate ${gate ? 'on ' : 'off'}: ${n} rotations × 3 clusters — failed ${b.noun} ${since()}; per rotation mean ${secs(total / n)}, max ${secs(Math.max(...times))}; gate mean ${secs(gateTotal / n)} (${((100 * gateTotal) / total).toFixed(0)}% of rotation time)${extra()}`,
    );
  }
  return results;
}

/** The machine line every benchmark prints: cores, CPU model and load average. */
export const machineLine = () =>
  `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
