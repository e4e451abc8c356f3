import { readFileSync, readdirSync } from 'node:fs';

/** The stack's processes a bench reports the CPU of, by a pattern of their command line. */
const watched: [string, RegExp][] = [
  // The stack's dev server (its SQLite file), not a test's private one.
  ['temporal', / server start-dev --db-filename \S*\/temporal\/temporal\.db /],
  ['vault', /\bvault server\b/],
  ['apiservers', /kube-apiserver/],
  ['etcd', /\betcd\b/],
];

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** CPU seconds used so far by `pid` (user + system), 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime the 14th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The pids of each watched process kind now running (Linux /proc; none elsewhere). */
function findWatched(): Map<string, number[]> {
  const found = new Map<string, number[]>();
  let pids: number[] = [];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return found;
  }
  for (const pid of pids) {
    const cmd = cmdline(pid);
    for (const [name, re] of watched) if (re.test(cmd)) found.set(name, [...(found.get(name) ?? []), pid]);
  }
  return found;
}

/**
 * Starts measuring the CPU the stack's processes and `extra` (name → pid) use; `stop()` returns one
 * line with each one's share of one core over the time between (100 % = one core busy throughout).
 */
export function processCpu(extra: Record<string, number | undefined>): { stop: () => string } {
  const kinds = findWatched();
  for (const [name, pid] of Object.entries(extra)) if (pid !== undefined) kinds.set(name, [pid]);
  const total = (pids: number[]) => pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const before = new Map([...kinds].map(([k, pids]) => [k, total(pids)]));
  const t0 = Date.now();
  return {
    stop: () => {
      const wall = (Date.now() - t0) / 1000;
      const parts = [...kinds].map(
        ([k, pids]) => `${k} ${Math.round((100 * (total(pids) - (before.get(k) ?? 0))) / wall)} %`,
      );
      return `CPU over the run (share of one core): ${parts.join(', ') || 'not measured (no /proc)'}`;
    },
  };
}
