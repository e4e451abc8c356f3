import { describe, expect, it } from 'vitest';
import { shutdownFromEnv } from './shutdown';

describe('shutdownFromEnv', () => {
  it("keeps the SDK's behaviour when nothing is set: no grace, no forced stop", () => {
    expect(shutdownFromEnv({})).toEqual({ shutdownGraceTime: 0 });
  });

  it('turns seconds into the SDK options', () => {
    expect(shutdownFromEnv({ ROTOR_SHUTDOWN_GRACE_S: '20', ROTOR_SHUTDOWN_FORCE_S: '40' })).toEqual({
      shutdownGraceTime: 20_000,
      shutdownForceTime: 40_000,
    });
  });

  it('refuses a forced stop that would cut the grace short, and bad numbers, naming the variable', () => {
    expect(() => shutdownFromEnv({ ROTOR_SHUTDOWN_GRACE_S: '30', ROTOR_SHUTDOWN_FORCE_S: '30' })).toThrow(
      /ROTOR_SHUTDOWN_FORCE_S="30": must exceed ROTOR_SHUTDOWN_GRACE_S \(30\)/,
    );
    expect(() => shutdownFromEnv({ ROTOR_SHUTDOWN_GRACE_S: '1.5' })).toThrow(/ROTOR_SHUTDOWN_GRACE_S="1.5"/);
    expect(() => shutdownFromEnv({ ROTOR_SHUTDOWN_GRACE_S: '-1' })).toThrow(/ROTOR_SHUTDOWN_GRACE_S="-1"/);
  });
});
