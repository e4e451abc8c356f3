import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleBuildId, workerVersioningFromEnv } from './versioning';

function bundle(code: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rotor-bundle-')), 'workflows.js');
  writeFileSync(file, code);
  return file;
}

describe('workerVersioningFromEnv', () => {
  it('is off without ROTOR_DEPLOYMENT_NAME', () => {
    expect(workerVersioningFromEnv({}, bundle('a'))).toBeUndefined();
  });

  it('pins rotations to a build named by ROTOR_BUILD_ID', () => {
    expect(workerVersioningFromEnv({ ROTOR_DEPLOYMENT_NAME: 'rotor', ROTOR_BUILD_ID: '1.0.0' }, undefined)).toEqual({
      version: { deploymentName: 'rotor', buildId: '1.0.0' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    });
  });

  it('by default names the build after the workflow bundle: same code, same id; changed code, new id', () => {
    const a = bundleBuildId(bundle('workflow code v1'));
    expect(bundleBuildId(bundle('workflow code v1'))).toBe(a);
    expect(bundleBuildId(bundle('workflow code v2'))).not.toBe(a);
    expect(workerVersioningFromEnv({ ROTOR_DEPLOYMENT_NAME: 'rotor' }, bundle('workflow code v1'))?.version).toEqual({
      deploymentName: 'rotor',
      buildId: a,
    });
  });

  it('fails naming the variable on bad or incomplete settings', () => {
    expect(() => workerVersioningFromEnv({ ROTOR_DEPLOYMENT_NAME: 'rotor' }, undefined)).toThrow(
      'ROTOR_DEPLOYMENT_NAME needs a build id: set ROTOR_BUILD_ID, or ROTOR_WORKFLOW_BUNDLE',
    );
    expect(() => workerVersioningFromEnv({ ROTOR_BUILD_ID: '1.0.0' }, undefined)).toThrow(
      'ROTOR_BUILD_ID is set but ROTOR_DEPLOYMENT_NAME is not',
    );
    expect(() => workerVersioningFromEnv({ ROTOR_DEPLOYMENT_NAME: 'rotor', ROTOR_BUILD_ID: 'a b' }, undefined)).toThrow(
      /^ROTOR_BUILD_ID: /,
    );
  });
});
