export { rotationWorkflow } from './rotation';
export { clusterSyncWorkflow } from './clusters';
export { scheduledRotationWorkflow } from './scheduled';
