import { hostname, userInfo } from 'node:os';
import { rotationWorkflowId } from '../core/ids';

/** `$USER@hostname`: who an operator action or a rotation is attributed to by default. */
export function defaultActor(env: NodeJS.ProcessEnv = process.env): string {
  let user = env['USER'] ?? env['LOGNAME'];
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

/**
 * Workflow id for a command argument: a secret name (DNS label, never contains `/`) maps to its
 * rotation's id; anything with a `/` is taken as a workflow id already.
 */
export function workflowIdOf(secretOrWorkflowId: string): string {
  return secretOrWorkflowId.includes('/') ? secretOrWorkflowId : rotationWorkflowId(secretOrWorkflowId);
}
