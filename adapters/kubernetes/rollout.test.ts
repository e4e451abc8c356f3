import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rolloutState } from './rollout';

const deployment = (replicas: number, status: V1Deployment['status'], generation = 2): V1Deployment => ({
  metadata: { generation },
  spec: { replicas, selector: {}, template: {} },
  status,
});

describe('rolloutState', () => {
  it.each<[string, V1Deployment | V1StatefulSet | undefined, boolean, string]>([
    ['missing', undefined, false, 'does not exist'],
    [
      'complete',
      deployment(2, { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 2 }),
      true,
      '2/2 updated, 2/2 available',
    ],
    [
      'generation not observed yet',
      deployment(1, { observedGeneration: 1, updatedReplicas: 1, availableReplicas: 1, replicas: 1 }),
      false,
      'generation not yet observed, 1/1 updated, 1/1 available',
    ],
    [
      'old pods still running',
      deployment(2, { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 3 }),
      false,
      '2/2 updated, 2/2 available',
    ],
    ['zero replicas', deployment(0, { observedGeneration: 2 }), true, '0/0 updated, 0/0 available'],
    [
      'statefulset revisions differ',
      {
        metadata: { generation: 1 },
        spec: { replicas: 1, selector: {}, serviceName: 's', template: {} },
        status: {
          observedGeneration: 1,
          updatedReplicas: 1,
          availableReplicas: 1,
          replicas: 1,
          currentRevision: 'a',
          updateRevision: 'b',
        },
      },
      false,
      '1/1 updated, 1/1 available',
    ],
  ])('%s', (_name, obj, complete, summary) => {
    expect(rolloutState(obj)).toEqual({ complete, summary });
  });
});
