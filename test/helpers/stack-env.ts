import { stackEnv } from '../../dev/local-stack/config';

/** Points rotor's clients (standard env vars) at the local stack, as a user's shell would. */
export function useStackEnv(): Record<string, string> {
  const env = stackEnv();
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
  return env;
}
