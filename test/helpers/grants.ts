import type { AdmissionGrant } from '../../core/contracts';

/**
 * The grant field of an activity input for in-process calls of `activityImplementations`, which
 * do not check it (workers register `createActivities`, which does: test/integration/admission-token.test.ts).
 */
export const uncheckedGrant: AdmissionGrant = {
  run: { workflowId: 'in-process', runId: 'in-process' },
  keyId: 'none',
  store: '',
  credential: '',
  clusters: {},
  canaries: {},
};
