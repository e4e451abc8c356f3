import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { repoRoot, workerArgs } from './entry-points';
import { useStackEnv } from './stack-env';

const STARTED = 'rotor worker started';

export interface WorkerProcessOptions {
  taskQueue: string;
  /** ROTOR_LOG_FILE of the worker: JSON lines, appended across restarts. */
  logFile: string;
  /** ROTOR_AUDIT_FILE of the worker; defaults to `<logFile>.audit`. */
  auditFile?: string;
  /** Extra environment on top of the stack's. */
  env?: Record<string, string>;
  /** How long to wait for 'rotor worker started' (bundling the workflows dominates). */
  startTimeoutMs?: number;
}

/** A real rotor worker (`workers/main.ts`) running as a child process, as operators run it. */
export interface WorkerProcess {
  readonly taskQueue: string;
  readonly logFile: string;
  readonly auditFile: string;
  /** pid of the running worker, undefined while it is down. */
  readonly pid: number | undefined;
  /** How many times the worker has been started. */
  readonly starts: number;
  /** Hard kill (SIGKILL: no shutdown, no drain, in-flight tasks abandoned); resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts the worker again and waits until it logs that it started. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): nothing it has in flight progresses until `thaw`. */
  freeze(): void;
  /** Lets a frozen process run again (SIGCONT). */
  thaw(): void;
  /** Graceful stop (SIGTERM); falls back to SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The worker's stderr so far (SDK-core output and fatal errors), for failure messages. */
  stderr(): string;
}

// Workers outlive a crashed test run otherwise; SIGKILL is what they are built to survive anyway.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function countStarted(logFile: string): number {
  if (!existsSync(logFile)) return 0;
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(STARTED)).length;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `workers/main.ts` in a child process with the local stack's environment, the given task
 * queue and log file, and waits until it logs 'rotor worker started'.
 */
export async function startWorkerProcess(o: WorkerProcessOptions): Promise<WorkerProcess> {
  const auditFile = o.auditFile ?? `${o.logFile}.audit`;
  // Metrics port 0: several test workers (and a developer's own worker) must not fight over 9464.
  const env = {
    ...process.env,
    ...useStackEnv(),
    ROTOR_METRICS_PORT: '0',
    ...o.env,
    ROTOR_TASK_QUEUE: o.taskQueue,
    ROTOR_LOG_FILE: o.logFile,
    ROTOR_AUDIT_FILE: auditFile,
  };
  let child: ChildProcess | undefined;
  let errText = '';
  let starts = 0;

  async function start(): Promise<void> {
    const before = countStarted(o.logFile);
    // node itself, not npx: the pid is then the worker itself, so SIGKILL hits the worker and not a wrapper.
    const c = spawn(process.execPath, workerArgs(), {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    live.add(c);
    c.once('exit', () => live.delete(c));
    starts++;
    c.stderr?.on('data', (d: Buffer) => {
      errText = (errText + d.toString('utf8')).slice(-20_000);
    });
    const deadline = Date.now() + (o.startTimeoutMs ?? 120_000);
    while (countStarted(o.logFile) <= before) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(
          `worker process exited (${c.exitCode ?? c.signalCode}) before it started:\n${errText.slice(-2000)}`,
        );
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`worker process did not log '${STARTED}' in time:\n${errText.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function kill(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c) return;
    c.kill('SIGKILL');
    await exited(c);
  }

  await start();
  return {
    taskQueue: o.taskQueue,
    logFile: o.logFile,
    auditFile,
    get pid() {
      return child?.pid;
    },
    get starts() {
      return starts;
    },
    kill,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    async restart() {
      await kill();
      await start();
    },
    async stop(graceMs = 10_000) {
      const c = child;
      if (!c) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
      await exited(c);
      clearTimeout(timer);
      child = undefined;
    },
    stderr: () => errText,
  };
}
