import { Client, Connection } from '@temporalio/client';
import { rotorDataConverter } from './data-converter';

/** Temporal endpoint settings from the standard environment variables. */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env) {
  return {
    address: env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233',
    namespace: env['TEMPORAL_NAMESPACE'] ?? 'default',
    taskQueue: env['ROTOR_TASK_QUEUE'] ?? 'rotor',
    uiUrl: (env['TEMPORAL_UI_URL'] ?? 'http://127.0.0.1:8233').replace(/\/$/, ''),
  };
}

/** Link to a workflow run in the Temporal Web UI. */
export function uiLink(workflowId: string, runId?: string, env: NodeJS.ProcessEnv = process.env): string {
  const s = temporalSettings(env);
  return `${s.uiUrl}/namespaces/${s.namespace}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

/** A Temporal client with rotor's data converter; fails with the address when the server is unreachable. */
export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const s = temporalSettings(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: s.address, connectTimeout: '5s' });
  } catch (e) {
    throw new Error(
      `cannot reach Temporal at ${s.address} (TEMPORAL_ADDRESS): ${(e as Error).message}. Is the stack up? Run 'npm run stack:up'.`,
    );
  }
  return new Client({ connection, namespace: s.namespace, dataConverter: rotorDataConverter(env) });
}
