import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policySchema } from '../core/policy/schema';
import { logCommandSandbox } from './command-sandbox-log';
import { createLogger } from './logger';

const dir = mkdtempSync(join(tmpdir(), 'rotor-sandbox-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The one line the worker logs at startup about command canaries, as level and message. */
async function startupLine(policy: object, opts: { bwrap?: string } = {}) {
  const file = join(dir, `${Math.random()}.log`);
  const logger = createLogger({ ROTOR_LOG_FILE: file });
  await logCommandSandbox(
    policySchema.parse({ apiVersion: 'rotor.dev/v1', kind: 'RotorPolicy', ...policy }),
    logger,
    opts,
  );
  const [line, ...rest] = readFileSync(file, 'utf8').trim().split('\n');
  expect(rest).toEqual([]);
  const { level, msg } = JSON.parse(line ?? '{}') as { level: number; msg: string };
  return { level, msg };
}

describe('the worker says at startup where command canaries run', () => {
  it('in the sandbox', async () => {
    expect(await startupLine({})).toEqual({ level: 30, msg: 'command canaries run in the bubblewrap sandbox' });
  });

  it('nowhere, as an error naming what to install, when the sandbox cannot be created', async () => {
    const { level, msg } = await startupLine({}, { bwrap: '/nonexistent/bwrap' });
    expect(level).toBe(50);
    expect(msg).toMatch(
      /^command canaries will be refused: this worker cannot create the bubblewrap sandbox \(.*\); install the Debian package bubblewrap/,
    );
  });

  it("as the worker's user, as a warning, under a single-tenant policy that says none", async () => {
    expect(await startupLine({ allowAll: true, commandSandbox: { type: 'none' } })).toEqual({
      level: 40,
      msg: "command canaries run as the worker's user, without a sandbox (full trust; single-tenant policy)",
    });
  });
});
