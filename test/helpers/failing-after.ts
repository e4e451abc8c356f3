import { ApplicationFailure } from '@temporalio/common';
import type { RotationActivities } from '../../activities/index';

/** Real activities, except that `after` fails for good right after the real step succeeded. */
export function failingAfter(real: RotationActivities, after: keyof RotationActivities): RotationActivities {
  return {
    ...real,
    [after]: async (...args: Parameters<RotationActivities[typeof after]>) => {
      await (real[after] as (...a: typeof args) => Promise<unknown>)(...args);
      throw ApplicationFailure.create({
        type: 'InjectedFailure',
        message: `injected failure after ${after}`,
        nonRetryable: true,
      });
    },
  };
}
