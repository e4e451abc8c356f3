export { rotationWorkflow } from './rotation';
export { clusterSyncWorkflow } from './clusters';
export { clusterBatchWorkflow } from './cluster-batches';
export { scheduledRotationWorkflow } from './scheduled';
export { storeLockWorkflow } from './store-lock';
