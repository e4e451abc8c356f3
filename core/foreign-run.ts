/**
 * Why a Temporal run is not one of rotor's of the `expected` workflow type on rotor's task queue
 * (empty: it is). Only rotor's workers poll rotor's task queue, so a run of rotor's type elsewhere,
 * or of another type, runs code that is not rotor's: any Temporal client may start one under any id.
 */
export function foreignRunProblems(
  run: { type: string; taskQueue: string },
  expected: { type: string; taskQueue: string },
): string[] {
  return [
    run.type !== expected.type && `its type is ${run.type}, not ${expected.type}`,
    run.taskQueue !== expected.taskQueue && `it runs on task queue ${run.taskQueue}, not ${expected.taskQueue}`,
  ].filter((p): p is string => typeof p === 'string');
}
