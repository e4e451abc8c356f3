/**
 * A Worker Deployment as the Temporal server sees it: which build is current, and whether each
 * earlier build still has pinned rotations open (draining) or none (drained). An upgrade keeps an
 * old build's workers until the server reports it drained; reading that here, instead of guessing
 * from rotor's own status, is what makes removing them safe.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { google } from '@temporalio/proto';

// The proto package is CommonJS; Node's ESM loader exposes it as a default export only.
const { temporal } = proto;
const { WorkerDeploymentVersionStatus: S, VersionDrainageStatus: D } = temporal.api.enums.v1;

/** One build of the deployment. `drained` is the server's word that no pinned run is left on it. */
export interface DeploymentVersion {
  buildId: string;
  status: 'current' | 'ramping' | 'draining' | 'drained' | 'inactive' | 'created' | 'unknown';
  createdAt?: string;
  /** When the server last counted the build's open pinned runs (drainage is refreshed periodically). */
  drainageCheckedAt?: string;
}

type Summary = proto.temporal.api.deployment.v1.WorkerDeploymentInfo.IWorkerDeploymentVersionSummary;
type Timestamp = google.protobuf.ITimestamp | null | undefined;

const iso = (t: Timestamp): string | undefined =>
  t?.seconds == null ? undefined : new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();

const statusNames: Partial<Record<number, DeploymentVersion['status']>> = {
  [S.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT]: 'current',
  [S.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING]: 'ramping',
  [S.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING]: 'draining',
  [S.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED]: 'drained',
  [S.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE]: 'inactive',
  [S.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED]: 'created',
};

function versionOf(s: Summary, current: string | undefined): DeploymentVersion {
  const buildId = s.deploymentVersion?.buildId ?? '';
  // Servers before `status` existed report only the drainage, and the current build apart.
  const fromDrainage =
    buildId === current
      ? 'current'
      : s.drainageStatus === D.VERSION_DRAINAGE_STATUS_DRAINED
        ? 'drained'
        : s.drainageStatus === D.VERSION_DRAINAGE_STATUS_DRAINING
          ? 'draining'
          : 'unknown';
  const createdAt = iso(s.createTime);
  const drainageCheckedAt = iso(s.drainageInfo?.lastCheckedTime);
  return {
    buildId,
    status: statusNames[s.status ?? 0] ?? fromDrainage,
    ...(createdAt ? { createdAt } : {}),
    ...(drainageCheckedAt ? { drainageCheckedAt } : {}),
  };
}

const isNotFound = (e: unknown): boolean =>
  (e as { code?: unknown } | null)?.code === 5 /* gRPC NOT_FOUND */ ||
  /not.?found/i.test(e instanceof Error ? e.message : String(e));

/**
 * Every build the server knows of deployment `name`, newest first. Fails naming the deployment
 * when the server has none of that name (no versioned worker of it has polled yet). A NotFound is
 * believed only once it has lasted `notFoundGraceMs`: the server answers it for a moment while the
 * deployment's own entity workflow is busy (continue-as-new after a version registers or becomes
 * current), as Temporal's worker controller also found (temporal-worker-controller#147).
 */
export async function deploymentVersions(
  client: Client,
  name: string,
  notFoundGraceMs = 5_000,
): Promise<DeploymentVersion[]> {
  const deadline = Date.now() + notFoundGraceMs;
  const describe = async (): Promise<proto.temporal.api.workflowservice.v1.IDescribeWorkerDeploymentResponse> => {
    try {
      return await client.workflowService.describeWorkerDeployment({
        namespace: client.options.namespace,
        deploymentName: name,
      });
    } catch (e) {
      if (isNotFound(e) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        return describe();
      }
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(
        isNotFound(e)
          ? `Temporal has no worker deployment '${name}' in namespace ${client.options.namespace}: no worker with ROTOR_DEPLOYMENT_NAME=${name} has polled yet (or give --deployment)`
          : `describing worker deployment '${name}': ${msg}`,
        { cause: e },
      );
    }
  };
  const info = (await describe()).workerDeploymentInfo;
  const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
  return (info?.versionSummaries ?? [])
    .map((s) => versionOf(s, current))
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

/**
 * Makes `version` the deployment's current version: new rotations start on it, running ones stay
 * on the build that started them. The server knows a version only once one of its workers has
 * polled, so this retries until then (at most `timeoutMs`).
 */
export async function setCurrentVersion(
  client: Client,
  version: { deploymentName: string; buildId: string },
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: client.options.namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: 'rotor',
      });
      return;
    } catch (e) {
      if (Date.now() > deadline)
        throw new Error(
          `could not make ${version.deploymentName}/${version.buildId} current: ${(e as Error).message}`,
          { cause: e },
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Resolves once the server reports build `buildId` of deployment `name` drained (no pinned run
 * open on it) or inactive (never current), polling every `everyMs`; fails when it is current or ramping (it takes new runs,
 * so it never drains), unknown to the server, or still draining after `timeoutMs`.
 */
export async function waitDrained(
  client: Client,
  o: { name: string; buildId: string; timeoutMs: number; everyMs?: number },
  onCheck: (v: DeploymentVersion) => void = () => undefined,
): Promise<DeploymentVersion> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const v = (await deploymentVersions(client, o.name)).find((x) => x.buildId === o.buildId);
    if (!v)
      throw new Error(`worker deployment '${o.name}' has no build '${o.buildId}' (rotor deployment status lists them)`);
    if (v.status === 'current' || v.status === 'ramping')
      throw new Error(
        `build '${o.buildId}' is ${v.status}: it takes new rotations and cannot drain; make another build current first (rotor deployment set-current)`,
      );
    onCheck(v);
    // Inactive: never current, so no run was routed to it (rotor sets no versioning overrides).
    if (v.status === 'drained' || v.status === 'inactive') return v;
    if (Date.now() > deadline)
      throw new Error(
        `build '${o.buildId}' is still ${v.status} after ${Math.round(o.timeoutMs / 1000)} s (the server last counted its pinned runs at ${v.drainageCheckedAt ?? 'never'}): keep its workers running`,
      );
    await new Promise((r) => setTimeout(r, o.everyMs ?? 2_000));
  }
}
