/** Every operator command and what it does; cli/actions/operator.ts says how each reaches the workflow. */
export const operatorDescriptions = {
  approve: 'release the approval gate before the old credential is revoked',
  abort: 'abort the rotation and roll back (refused past the point of no return)',
  'skip-soak': 'end the soak period now',
  pause: 'hold before the next stage starts',
  resume: 'continue a paused rotation',
  retry: 'after the point of no return, retry the failing step now',
} as const;

/** The name of an operator command. */
export type OperatorName = keyof typeof operatorDescriptions;
