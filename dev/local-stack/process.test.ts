import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePortFree, waitHealthy } from './process';
import { requireTool } from './toolchain';

describe('local stack errors say what to do', () => {
  it('a taken port names the port and the process holding it', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      await expect(ensurePortFree(port, 'vault')).rejects.toThrow(
        new RegExp(`vault: port ${port} is already in use by (node|MainThread) \\(pid ${process.pid}\\)`),
      );
    } finally {
      server.close();
    }
  });

  it('a missing toolchain says what to install', () => {
    expect(() => requireTool('definitely-not-a-rotor-tool', "install it with 'apt-get install x'")).toThrow(
      "'definitely-not-a-rotor-tool' is not installed or not on PATH: install it with 'apt-get install x'",
    );
  });

  it('a failed health check shows the reason and the tail of the service log', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'rotor-stack-')), 'svc.log');
    writeFileSync(log, 'starting\nFATAL: listen tcp 127.0.0.1:8200: bind: address already in use\n');
    await expect(waitHealthy('vault', () => Promise.resolve('no answer on 8200'), log, 300)).rejects.toThrow(
      /vault failed its health check after 0s: no answer on 8200[\s\S]*FATAL: listen tcp/,
    );
  });
});
