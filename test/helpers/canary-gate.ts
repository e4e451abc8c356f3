import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A command canary that passes only once the test opens its gate: a fault injected while the
 * rotation is in its canary stage lands there by construction, not within a sleep that a loaded
 * machine may outrun. The gate is a file; the canary marks when it runs (it has read the
 * credential). `dispose` removes the directory, which ends any canary process still waiting (one
 * orphaned by a killed worker, say).
 */
export function canaryGate(name = 'gated') {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-canary-gate-'));
  const open = join(dir, 'open');
  const running = join(dir, 'running');
  return {
    canary: {
      type: 'command' as const,
      name,
      command: [
        'sh',
        '-c',
        `cat >/dev/null; touch '${running}'; while [ -d '${dir}' ] && [ ! -e '${open}' ]; do sleep 0.1; done`,
      ],
    },
    /** Resolves once an attempt of the canary runs (and waits for the gate); fails after `timeoutMs`. */
    async running(timeoutMs = 90_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!existsSync(running)) {
        if (Date.now() > deadline) throw new Error(`canary ${name} never ran within ${timeoutMs / 1000}s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** Lets every attempt of the canary, running or to come, pass. */
    open: () => writeFileSync(open, ''),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
