import { describe, expect, it } from 'vitest';
import { goBuildSlots } from './toolchain';

const GiB = 2 ** 30;

describe('goBuildSlots', () => {
  it('builds two at once with 16 GiB or more, one below, and honours ROTOR_GO_BUILDS', () => {
    expect(goBuildSlots({}, 24 * GiB)).toBe(2);
    expect(goBuildSlots({}, 8 * GiB)).toBe(1);
    expect(goBuildSlots({ ROTOR_GO_BUILDS: '1' }, 24 * GiB)).toBe(1);
    expect(goBuildSlots({ ROTOR_GO_BUILDS: '3' }, 8 * GiB)).toBe(3);
    // Nonsense falls back to the memory rule rather than to zero builds.
    expect(goBuildSlots({ ROTOR_GO_BUILDS: 'many' }, 24 * GiB)).toBe(2);
  });
});
