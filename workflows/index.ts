export { rotationWorkflow } from './rotation';
