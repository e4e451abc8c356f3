import { describe, expect, it } from 'vitest';
import { defaultWorkerTuning, workerTuningFromEnv } from './tuning';

describe('workerTuningFromEnv', () => {
  it("takes rotor's defaults when nothing is set (an empty value counts as unset)", () => {
    expect(workerTuningFromEnv({})).toEqual(defaultWorkerTuning);
    expect(workerTuningFromEnv({ ROTOR_MAX_CACHED_WORKFLOWS: '' })).toEqual(defaultWorkerTuning);
  });

  it('maps each variable to its SDK Worker option', () => {
    expect(
      workerTuningFromEnv({
        ROTOR_MAX_CONCURRENT_ACTIVITIES: '50',
        ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS: '30',
        ROTOR_MAX_CACHED_WORKFLOWS: '0',
        ROTOR_WORKFLOW_TASK_POLLERS: '6',
        ROTOR_ACTIVITY_TASK_POLLERS: '5',
      }),
    ).toEqual({
      maxConcurrentActivityTaskExecutions: 50,
      maxConcurrentWorkflowTaskExecutions: 30,
      maxCachedWorkflows: 0,
      maxConcurrentWorkflowTaskPolls: 6,
      maxConcurrentActivityTaskPolls: 5,
    });
  });

  it('names the variable and the value it refuses', () => {
    expect(() => workerTuningFromEnv({ ROTOR_MAX_CONCURRENT_ACTIVITIES: 'lots' })).toThrow(
      /ROTOR_MAX_CONCURRENT_ACTIVITIES="lots"/,
    );
    expect(() => workerTuningFromEnv({ ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS: '1' })).toThrow(
      /ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS="1": .*2/,
    );
  });

  it('refuses more pollers than slots, naming both variables', () => {
    expect(() =>
      workerTuningFromEnv({ ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS: '4', ROTOR_WORKFLOW_TASK_POLLERS: '8' }),
    ).toThrow(/ROTOR_WORKFLOW_TASK_POLLERS="8": must not exceed ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS \(4\)/);
  });
});
