import { stackEnv } from './config';

/**
 * Points rotor's clients (standard env vars) at the local stack, as a user's shell would: each
 * variable the environment does not set yet gets the stack's value. Returns the values in effect,
 * so a caller's own setting wins everywhere it is passed on (child workers, the CLI):
 * `TEMPORAL_ADDRESS=127.0.0.1:7235` runs a test or benchmark against Temporal on PostgreSQL.
 */
export function useStackEnv(): Record<string, string> {
  const env = stackEnv();
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, process.env[k] ?? v]));
}
