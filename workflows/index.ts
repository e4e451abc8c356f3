export { rotationWorkflow } from './rotation';
export { clusterSyncWorkflow } from './clusters';
