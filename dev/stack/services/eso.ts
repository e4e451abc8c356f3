import type { StackService } from '../service';

// Placeholder until the eso service lands; replaced by its real implementation.
export const eso: StackService = {
  name: 'eso',
  version: 'unbuilt',
  dependsOn: [],
  address: '',
  install: () => Promise.resolve(),
  start: () => Promise.reject(new Error('eso is not implemented yet')),
  health: () => Promise.resolve('not implemented yet'),
};
