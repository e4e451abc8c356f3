import type { StackService } from '../service';

// Placeholder until the kube service lands; replaced by its real implementation.
export const kube: StackService = {
  name: 'kube',
  version: 'unbuilt',
  dependsOn: [],
  address: '',
  install: () => Promise.resolve(),
  start: () => Promise.reject(new Error('kube is not implemented yet')),
  health: () => Promise.resolve('not implemented yet'),
};
