import { describe, expect, it } from 'vitest';
import { SCHEDULE_PREFIX, playbookOfScheduleId, playbookScheduleId, rotationWorkflowId, scheduleIdOf } from './ids';

describe('playbook schedule ids', () => {
  it('name their namespace and playbook, and read back only their own form', () => {
    const id = playbookScheduleId('orders', 'db');
    expect(id).toBe('rotor-playbook/orders/db');
    expect(playbookOfScheduleId(id)).toEqual({ namespace: 'orders', name: 'db' });
    // `rotor schedule sync` ids, other schedules and deeper paths are not the controller's.
    for (const other of [scheduleIdOf('orders/db'), 'rotor-playbook/orders', 'rotor-playbook/a/b/c', 'mine/orders/db'])
      expect(playbookOfScheduleId(other)).toBeUndefined();
    // Never under sync's prefix: its prune of `rotor/*` cannot reach them.
    expect(id.startsWith(SCHEDULE_PREFIX)).toBe(false);
  });

  it('keep two namespaces apart whatever their names', () => {
    expect(playbookScheduleId('a', 'b')).not.toBe(playbookScheduleId('b', 'a'));
    expect(playbookScheduleId('orders', 'db')).not.toBe(playbookScheduleId('payments', 'db'));
  });
});

describe('rotation ids', () => {
  it("are per namespace for the controller's rotations, and never meet a direct rotation's", () => {
    expect(rotationWorkflowId('db')).toBe('rotate/db');
    expect(rotationWorkflowId('db', 'orders')).toBe('rotate/orders/db');
    expect(rotationWorkflowId('db', 'orders')).not.toBe(rotationWorkflowId('db', 'payments'));
    // A secret name is a DNS label (no '/'), so no direct rotation's id has two slashes.
    expect(rotationWorkflowId('orders', 'db')).not.toBe(rotationWorkflowId('db', 'orders'));
  });
});
