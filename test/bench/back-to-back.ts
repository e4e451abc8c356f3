/**
 * The rotation loop the zero-downtime benchmarks share: rotations back to back on a test worker,
 * first with the consumer gate on, then off, each printed with the failures counted so far.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationStatus, StageName } from '../../core/status';
import { statusQuery } from '../../workflows/definitions';
import { outcomeOf, startRotation } from '../helpers/worker';
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
  /**
   * One step of the loop, given the base playbook with the gate on or off: by default that playbook
   * rotated once. Returns the rotations it ran; the gate's share sums all their gates.
   */
  iteration?: (playbook: Playbook, gate: boolean, i: number) => Promise<RotationStatus[]>;
}

/** `playbook` with the consumer gate on or off. */
export const withGate = (playbook: Playbook, gate: boolean): Playbook => ({
  ...playbook,
  spec: { ...playbook.spec, consumerGate: { ...playbook.spec.consumerGate, enabled: gate } },
});

/** Rotates `playbook` once on the test worker; throws naming `what` unless it rotated. */
export async function rotateOnce(tw: TestWorker, playbook: Playbook, what: string): Promise<RotationStatus> {
  return tw.run(async () => {
    const h = await startRotation(tw, playbook, 'bench');
    const o = await outcomeOf(h);
    if (!o.ok) throw new Error(`${what} failed: ${o.error.message}`);
    return h.query<RotationStatus>(statusQuery);
  });
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
    const playbook = withGate(base, gate);
    const iteration =
      b.iteration ??
      (async (p: Playbook, g: boolean, i: number) => [
        await rotateOnce(tw, p, `rotation ${i + 1} (gate ${g ? 'on' : 'off'})`),
      ]);
    const start = b.counts();
    const since = () => {
      const now = b.counts();
      return `${now.failed - start.failed} of ${now.attempts - start.attempts}`;
    };
    const times: number[] = [];
    const gateTimes: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      const statuses = await iteration(playbook, gate, i);
      times.push(Date.now() - t0);
      gateTimes.push(statuses.reduce((ms, s) => ms + stageMs(s, 'promote-gate') + stageMs(s, 'revoke-gate'), 0));
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

/** The options every zero-downtime benchmark takes: rotations with the gate on and off, and the gate's settle time. */
export function backToBackArgs(): { rotations: number; offRotations: number; settle: string } {
  const { values } = parseArgs({
    options: {
      rotations: { type: 'string', default: '10' },
      'off-rotations': { type: 'string', default: '3' },
      settle: { type: 'string', default: '10s' },
    },
  });
  return { rotations: Number(values.rotations), offRotations: Number(values['off-rotations']), settle: values.settle };
}

/** Runs a benchmark's main and exits: 0 when it finished, 1 with its message when it threw. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
