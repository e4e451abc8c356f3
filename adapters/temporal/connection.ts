import { Client, Connection } from '@temporalio/client';
import { rotorDataConverter } from './data-converter';
import { temporalEndpoint, temporalProfile } from './envconfig';
import { connectFailure } from './connect-failure';

/**
 * Temporal settings from the environment: address and namespace as the Temporal CLI resolves them
 * (TEMPORAL_* variables over a temporal.toml profile), rotor's task queue and the Web UI's URL.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env) {
  const profile = temporalProfile(env);
  return {
    address: profile.address ?? '127.0.0.1:7233',
    namespace: profile.namespace ?? 'default',
    taskQueue: env['ROTOR_TASK_QUEUE'] ?? 'rotor',
    uiUrl: (env['TEMPORAL_UI_URL'] ?? 'http://127.0.0.1:8233').replace(/\/$/, ''),
  };
}

/** Link to a workflow run in the Temporal Web UI. */
export function uiLink(workflowId: string, runId?: string, env: NodeJS.ProcessEnv = process.env): string {
  const s = temporalSettings(env);
  return `${s.uiUrl}/namespaces/${s.namespace}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

/** Link to the Temporal Web UI's workflow list filtered by a visibility query. */
export function uiListLink(query: string, env: NodeJS.ProcessEnv = process.env): string {
  const s = temporalSettings(env);
  return `${s.uiUrl}/namespaces/${s.namespace}/workflows?query=${encodeURIComponent(query)}`;
}

/**
 * A Temporal client with rotor's data converter, connected with the TLS, client certificate and API key
 * the environment configures; fails with the endpoint and what to check when it cannot connect.
 */
export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const ep = temporalEndpoint(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: ep.address,
      tls: ep.tls,
      ...(ep.apiKey ? { apiKey: ep.apiKey } : {}),
      ...(ep.metadata ? { metadata: ep.metadata } : {}),
      connectTimeout: '5s',
    });
  } catch (e) {
    throw await connectFailure('rotor', ep, e);
  }
  return new Client({ connection, namespace: ep.namespace, dataConverter: rotorDataConverter(env) });
}
