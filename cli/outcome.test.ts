import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState, TerminatedFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { rotateOptionsSchema } from './args';
import { ExitCode } from './exit-codes';
import { exitCodeOf, outcomeOfFailure } from './outcome';
import { changeLines, renderFrame } from './progress';
import { WorkflowErrorTypes } from '../core/failures';
import { initialStatus, stageNames } from '../core/status';
import type { RotationStatus } from '../core/status';

const t0 = 1_700_000_000_000;

function status(over: Partial<RotationStatus> = {}): RotationStatus {
  return {
    ...initialStatus({
      secret: 'payments-api-key',
      playbook: 'payments-api-key',
      trigger: 'manual',
      requestedBy: 'alice@host',
      startedAt: t0,
    }),
    ...over,
  };
}

function failed(type: string, message: string): WorkflowFailedError {
  const root = ApplicationFailure.create({ type: 'CanaryFailed', message: "canary 'x' failed: sh exit 1" });
  const activity = new ActivityFailure(
    'Activity task failed',
    'runCanary',
    '3',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    root,
  );
  return new WorkflowFailedError(
    'Workflow execution failed',
    ApplicationFailure.create({ type, message, cause: activity }),
    RetryState.NON_RETRYABLE_FAILURE,
  );
}

describe('progress rendering', () => {
  const running = status({
    phase: 'canary',
    stages: stageNames.map((name, i) =>
      i < 2
        ? { name, state: 'done', startedAt: t0, endedAt: t0 + 1000 }
        : i < 4
          ? { name, state: 'skipped', detail: 'no clusters' }
          : i === 4
            ? { name, state: 'running', startedAt: t0 + 1000 }
            : { name, state: 'pending' },
    ),
    clusters: [{ name: 'cluster-a', wave: 0, phase: 'dual-read', updatedAt: t0 }],
    current: { version: '1', fingerprint: 'hmac:aaa' },
    pending: { version: '2', fingerprint: 'hmac:bbb' },
  });

  it('a frame shows each stage with its mark and seconds, clusters, versions', () => {
    const frame = renderFrame(running, t0 + 4000);
    expect(frame).toContain('phase canary · 4s elapsed');
    expect(frame).toMatch(/✔ plan +1s/);
    expect(frame).toMatch(/– distribute +no clusters/);
    expect(frame).toMatch(/▶ canary +3s/);
    expect(frame).toMatch(/· promote/);
    expect(frame).toMatch(/cluster-a +1 +dual-read/);
    expect(frame).toMatch(/current +v1 +hmac:aaa/);
    expect(frame).toMatch(/pending +v2 +hmac:bbb/);
  });

  it('plain lines report only what changed', () => {
    const next = status({
      ...running,
      phase: 'promote',
      stages: running.stages.map((s) =>
        s.name === 'canary'
          ? { ...s, state: 'done', endedAt: t0 + 2000 }
          : s.name === 'promote'
            ? { ...s, state: 'running', startedAt: t0 + 2000 }
            : s,
      ),
      awaitingApproval: true,
    });
    expect(changeLines(running, next, t0 + 2000)).toEqual([
      '+2s phase promote',
      '+2s ✔ canary done 1s',
      '+2s ▶ promote running',
      '+2s ⏳ awaiting approval — rotor approve payments-api-key (or rotor abort payments-api-key)',
    ]);
    expect(changeLines(next, next, t0 + 3000)).toEqual([]);
  });
});

describe('outcomes and exit codes', () => {
  it.each([
    [WorkflowErrorTypes.rolledBack, 'rolled-back', ExitCode.rolledBack],
    [WorkflowErrorTypes.aborted, 'aborted', ExitCode.rolledBack],
    [WorkflowErrorTypes.compensationFailed, 'compensation-failed', ExitCode.attention],
    // Nothing changed: a usage error, not a run a human must look at.
    [WorkflowErrorTypes.invalidPlaybook, 'refused', ExitCode.usage],
    [WorkflowErrorTypes.policyRefused, 'refused', ExitCode.usage],
    [WorkflowErrorTypes.storeLocked, 'refused', ExitCode.usage],
  ])('%s → %s, exit %i, with the cause chain', (type, outcome, code) => {
    const o = outcomeOfFailure(failed(type, 'rotation of x rolled back: canary failed'));
    expect(o?.outcome).toBe(outcome);
    expect(exitCodeOf(o?.outcome ?? 'failed')).toBe(code);
    expect(o?.chain).toEqual([
      `${type}: rotation of x rolled back: canary failed`,
      'activity runCanary (id 3) failed',
      "CanaryFailed: canary 'x' failed: sh exit 1",
    ]);
  });

  it('a terminated run needs attention; a non-workflow error is not an outcome', () => {
    const terminated = new WorkflowFailedError(
      'Workflow execution failed',
      new TerminatedFailure('by ops'),
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(exitCodeOf(outcomeOfFailure(terminated)?.outcome ?? 'rotated')).toBe(ExitCode.attention);
    expect(outcomeOfFailure(new Error('connection refused'))).toBeUndefined();
    expect(exitCodeOf('rotated')).toBe(ExitCode.ok);
  });
});

describe('rotate options', () => {
  it('--emergency needs --reason and --compromised needs --emergency', () => {
    const bad = rotateOptionsSchema.safeParse({ emergency: true, compromised: false });
    expect(bad.error?.issues.map((i) => i.message)).toEqual([
      '--emergency requires --reason: say why the credential cannot wait',
    ]);
    expect(
      rotateOptionsSchema.safeParse({ compromised: true, reason: 'x' }).error?.issues.map((i) => i.message),
    ).toEqual(['--compromised requires --emergency']);
    expect(
      rotateOptionsSchema.parse({ emergency: true, compromised: true, reason: 'leaked', requestedBy: 'bob' }),
    ).toMatchObject({ emergency: true, compromised: true, requestedBy: 'bob' });
  });
});
