import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { jobEnd } from './kubernetes-job';

describe('jobEnd', () => {
  it.each<[string, V1Job['status'], ReturnType<typeof jobEnd>]>([
    ['running', { active: 1 }, undefined],
    ['Complete condition', { conditions: [{ type: 'Complete', status: 'True' }] }, { ok: true }],
    ['succeeded count', { succeeded: 1 }, { ok: true }],
    [
      'Failed condition with reason',
      { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
      { ok: false, reason: 'BackoffLimitExceeded' },
    ],
    ['failed count', { failed: 1 }, { ok: false }],
    [
      'stopped at its deadline (the canary timeout)',
      { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] },
      { ok: false, timedOut: true },
    ],
    ['a condition not yet true', { conditions: [{ type: 'Failed', status: 'False' }] }, undefined],
  ])('%s', (_name, status, expected) => {
    expect(jobEnd({ status })).toEqual(expected);
  });
});
