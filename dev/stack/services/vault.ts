import type { StackService } from '../service';

// Placeholder until the vault service lands; replaced by its real implementation.
export const vault: StackService = {
  name: 'vault',
  version: 'unbuilt',
  dependsOn: [],
  address: '',
  install: () => Promise.resolve(),
  start: () => Promise.reject(new Error('vault is not implemented yet')),
  health: () => Promise.resolve('not implemented yet'),
};
