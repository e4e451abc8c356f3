import { describe, expect, it } from 'vitest';
import { findCycles, sourceGlobs } from './import-cycles';

describe('import cycles (dev/import-cycles.ts)', () => {
  it('catches a cycle made only of type imports, naming its files', () => {
    const { ok, output } = findCycles(['test/fixtures/cycles/*.ts']);
    expect(ok).toBe(false);
    expect(output).toMatch(/test\/fixtures\/cycles\/[ab]\.ts -> test\/fixtures\/cycles\/[ab]\.ts/);
  });

  it("finds none in rotor's own code", () => {
    const { ok, output } = findCycles(sourceGlobs);
    expect(ok, output).toBe(true);
  });
});
