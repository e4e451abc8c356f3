import type { z } from 'zod';

/**
 * Reads `names` from `env` through `schema` (an empty value counts as unset); the first problem
 * fails naming the variable, the value it got, zod's message and what it accepts.
 */
export function parseEnvVars<T>(
  schema: z.ZodType<T>,
  env: NodeJS.ProcessEnv,
  names: readonly string[],
  accepts: string,
): T {
  const parsed = schema.safeParse(Object.fromEntries(names.map((n) => [n, env[n] || undefined])));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = String(issue?.path[0]);
  throw new Error(`${name}=${JSON.stringify(env[name] ?? '')}: ${issue?.message ?? 'invalid'} (${accepts})`);
}
