/**
 * A setup file of every project: measures the CPU a test file costs in its own test process,
 * including the subprocesses it started and reaped (CLI runs, worker processes), and leaves it in
 * the file's task meta for dev/test-ledger-reporter.ts. Services the stack runs (Temporal, the
 * apiservers) are not counted: they are not this process's children.
 */
import { readFileSync } from 'node:fs';
import { afterAll } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** CPU milliseconds of the file's test process and its reaped children. */
    cpuMs?: number;
  }
}

// /proc/self/stat: utime, stime, cutime, cstime are fields 14–17, in clock ticks (100 per second
// on Linux); the name in field 2 may hold spaces, so count from its closing parenthesis.
function cpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) * 10;
  } catch {
    return undefined; // not Linux: the report leaves the column empty
  }
}

const atStart = cpuMs();

// Registered before the file's own hooks, so it runs after them (afterAll runs last-first).
// vitest reads the hook's first parameter and wants it destructured, even when nothing is used.
// eslint-disable-next-line no-empty-pattern
afterAll(({}, suite) => {
  const now = cpuMs();
  if (atStart !== undefined && now !== undefined) suite.meta.cpuMs = now - atStart;
});
