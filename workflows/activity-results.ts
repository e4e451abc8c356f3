import type { RotationActivities } from '../activities/index';

/** The activities whose result may be `undefined` (void, or a union with it), by the activities' own types. */
type ResultMayBeUndefined = {
  [K in keyof RotationActivities]-?: undefined extends Awaited<ReturnType<RotationActivities[K]>> ? K : never;
}[keyof RotationActivities];

/**
 * Those activities by name, for the workflow interceptor: any other activity that completes without
 * a result was completed by id from outside (a client needs no codec key to send no payload), and
 * the workflow refuses the result instead of failing on it. A `Record` over the type, so the list
 * cannot miss or add an activity: a new void activity does not compile until it is listed here.
 */
const mayBeUndefined: Record<ResultMayBeUndefined, true> = {
  verifyRotationParent: true,
  verifyContinuation: true,
  discardPendingVersion: true,
  promoteVersion: true,
  demoteVersion: true,
  finalizeRotation: true,
};

/** Whether `activityType` may legitimately complete without a result. */
export function resultMayBeUndefined(activityType: string): boolean {
  return Object.hasOwn(mayBeUndefined, activityType);
}
