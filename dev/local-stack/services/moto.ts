import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ports } from '../config';
import { ensurePortFree, probe, startProcess } from '../process';
import type { StackContext, StackService } from '../service';
import { requireTool } from '../toolchain';

const run = promisify(execFile);
const version = '5.2.5';

/** The virtualenv moto is installed in. */
export function motoVenv(ctx: StackContext): string {
  return join(ctx.paths.cacheDir, 'venv', `moto-${version}`);
}

/** moto in server mode (Secrets Manager, IAM, STS) from PyPI, in a virtualenv the stack owns. */
export const moto: StackService = {
  name: 'moto',
  version,
  dependsOn: [],
  address: `http://127.0.0.1:${ports.moto}`,
  async install(ctx) {
    const venv = motoVenv(ctx);
    if (existsSync(join(venv, 'bin', 'moto_server'))) return;
    const python = requireTool(
      'python3',
      "install Python 3.9+ with the venv module (Debian: 'apt-get install python3-venv').",
    );
    ctx.log(`installing moto ${version} into ${venv}`);
    await run(python, ['-m', 'venv', venv]).catch((e: Error) => {
      throw new Error(`moto: could not create a virtualenv (Debian: 'apt-get install python3-venv'): ${e.message}`);
    });
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', `moto[server]==${version}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
  },
  async start(ctx) {
    await ensurePortFree(ports.moto, 'moto');
    startProcess(ctx, 'moto', join(motoVenv(ctx), 'bin', 'moto_server'), ['-H', '127.0.0.1', '-p', String(ports.moto)]);
  },
  async health() {
    const status = await probe(`http://127.0.0.1:${ports.moto}/moto-api/data.json`);
    return status === 200 ? undefined : `moto does not answer on port ${ports.moto}`;
  },
};
