import { describe, expect, it } from 'vitest';
import { leaseFromEnv } from './from-env';

describe('ROTOR_CONTROLLER_LEASE', () => {
  it('is off when unset, and <namespace>/<name> otherwise', () => {
    expect(leaseFromEnv({})).toBeUndefined();
    expect(leaseFromEnv({ ROTOR_CONTROLLER_LEASE: 'rotor/rotor-controller' })).toEqual({
      namespace: 'rotor',
      name: 'rotor-controller',
    });
  });

  it('names the variable and the expected form when malformed', () => {
    for (const bad of ['rotor', 'rotor/', '/x', 'Rotor/x', 'a/b/c', 'ns/has space'])
      expect(() => leaseFromEnv({ ROTOR_CONTROLLER_LEASE: bad })).toThrow(
        `ROTOR_CONTROLLER_LEASE: '${bad}' is not <namespace>/<name> of a Lease`,
      );
  });
});
