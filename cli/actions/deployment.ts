import { deploymentVersions, setCurrentVersion, waitDrained } from '../../adapters/temporal/worker-deployment';
import type { DeploymentVersion } from '../../adapters/temporal/worker-deployment';
import { parseArgs } from '../args';
import { withClient } from '../client';
import { buildIdSchema, deploymentOptionsSchema } from '../deployment-args';
import { CliError, ExitCode } from '../exit-codes';
import { err, jsonLine, out } from '../output';

const line = (v: DeploymentVersion) =>
  `${v.buildId.padEnd(24)} ${v.status.padEnd(9)} created ${v.createdAt ?? '-'}${v.drainageCheckedAt ? `  runs counted ${v.drainageCheckedAt}` : ''}`;

/** Runs `fn`, turning the adapter's errors (unknown deployment or build, timeout) into usage errors. */
async function clientAction<T>(fn: Parameters<typeof withClient<T>>[0]): Promise<T> {
  return withClient(async (client) => {
    try {
      return await fn(client);
    } catch (e) {
      throw new CliError(`rotor: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

/** `rotor deployment status`. */
export async function deploymentStatus(opts: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(deploymentOptionsSchema, opts);
  const versions = await clientAction((c) => deploymentVersions(c, o.deployment));
  if (o.json) out(JSON.stringify({ deployment: o.deployment, versions }, null, 2));
  else {
    out(`worker deployment ${o.deployment}`);
    for (const v of versions) out(`  ${line(v)}`);
  }
  return ExitCode.ok;
}

/** `rotor deployment set-current <build-id>`. */
export async function deploymentSetCurrent(buildId: string, opts: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(deploymentOptionsSchema, opts);
  const id = parseArgs(buildIdSchema, buildId);
  await clientAction((c) => setCurrentVersion(c, { deploymentName: o.deployment, buildId: id }));
  out(`${o.deployment}/${id} is current: new rotations start on it`);
  return ExitCode.ok;
}

/** `rotor deployment wait-drained <build-id>`. */
export async function deploymentWaitDrained(buildId: string, opts: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(deploymentOptionsSchema, opts);
  const id = parseArgs(buildIdSchema, buildId);
  let last = '';
  const v = await clientAction((c) =>
    waitDrained(c, { name: o.deployment, buildId: id, timeoutMs: o.timeout }, (check) => {
      if (o.json) jsonLine({ ...check });
      else if (check.status !== last) err(`${id}: ${check.status}`);
      last = check.status;
    }),
  );
  if (!o.json) out(`${o.deployment}/${id} is ${v.status}: no pinned rotation is open on it; its workers may go`);
  return ExitCode.ok;
}
