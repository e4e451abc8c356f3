export { rotationWorkflow } from './rotation';
export { clusterBatchWorkflow } from './cluster-batches';
export { scheduledRotationWorkflow } from './scheduled';
export { storeLockWorkflow } from './store-lock';
export { incidentWorkflow } from './incident';
