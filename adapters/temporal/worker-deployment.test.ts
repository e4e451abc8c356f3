import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { deploymentVersions } from './worker-deployment';

/** A client whose describeWorkerDeployment answers each call from `answers` in turn. */
function clientAnswering(answers: (Error | object)[]): { client: Client; calls: () => number } {
  let calls = 0;
  const describeWorkerDeployment = () => {
    const a = answers[Math.min(calls++, answers.length - 1)];
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  };
  const client = { options: { namespace: 'default' }, workflowService: { describeWorkerDeployment } };
  return { client: client as unknown as Client, calls: () => calls };
}

const S = proto.temporal.api.enums.v1.WorkerDeploymentVersionStatus;
const notFound = () => Object.assign(new Error('5 NOT_FOUND: worker deployment not found'), { code: 5 });
const twoBuilds = {
  workerDeploymentInfo: {
    routingConfig: { currentDeploymentVersion: { buildId: 'b' } },
    versionSummaries: [
      {
        deploymentVersion: { buildId: 'a' },
        status: S.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING,
        createTime: { seconds: 1 },
      },
      {
        deploymentVersion: { buildId: 'b' },
        status: S.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT,
        createTime: { seconds: 2 },
      },
    ],
  },
};

describe('deploymentVersions', () => {
  it('rides out a NotFound the server answers for a moment, then lists the builds newest first', async () => {
    const { client, calls } = clientAnswering([notFound(), notFound(), twoBuilds]);
    expect(await deploymentVersions(client, 'rotor', 5_000)).toMatchObject([
      { buildId: 'b', status: 'current' },
      { buildId: 'a', status: 'draining' },
    ]);
    expect(calls()).toBe(3);
  });

  it('names the deployment once the NotFound outlasts the grace period', async () => {
    const { client, calls } = clientAnswering([notFound()]);
    await expect(deploymentVersions(client, 'nobody', 600)).rejects.toThrow(
      /Temporal has no worker deployment 'nobody' in namespace default: no worker with ROTOR_DEPLOYMENT_NAME=nobody/,
    );
    expect(calls()).toBeGreaterThanOrEqual(2);
  });

  it('does not retry other errors', async () => {
    const { client, calls } = clientAnswering([new Error('14 UNAVAILABLE: connection refused')]);
    await expect(deploymentVersions(client, 'rotor')).rejects.toThrow(
      "describing worker deployment 'rotor': 14 UNAVAILABLE: connection refused",
    );
    expect(calls()).toBe(1);
  });
});
