import { describe, expect, it } from 'vitest';
import { isFullRun, vitestListArgs } from './vitest-run';

describe("the runner's vitest arguments", () => {
  it('counts a run as full only when nothing beyond --config narrows it', () => {
    expect(isFullRun([])).toBe(true);
    expect(isFullRun(['--config', 'x.config.ts'])).toBe(true);
    // Without --config, the first argument was taken for the config's value: a one-file run was judged as a full run.
    expect(isFullRun(['test/integration/a.test.ts'])).toBe(false);
    expect(isFullRun(['--project', 'unit'])).toBe(false);
    expect(isFullRun(['--config', 'x.config.ts', 'a.test.ts'])).toBe(false);
  });

  it('asks vitest list for JSON last, so no file filter is taken for the JSON output path', () => {
    expect(vitestListArgs(['test/integration/a.test.ts'])).toEqual([
      'list',
      'test/integration/a.test.ts',
      '--filesOnly',
      '--json',
    ]);
  });
});
