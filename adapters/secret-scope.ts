import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The secret values one activity execution has touched (read from a store, generated, created at a
 * target). Adapters record them with {@link holdSecret}; the worker's activity interceptor redacts
 * them from any error the activity throws, so an upstream error text (Kubernetes, AWS, Vault,
 * PostgreSQL) that echoes a value never reaches Temporal.
 */
const scope = new AsyncLocalStorage<Set<string>>();

/** Runs `fn` with a fresh, empty set of held secrets. */
export function withSecretScope<T>(fn: () => Promise<T>): Promise<T> {
  return scope.run(new Set(), fn);
}

/** Records a secret value for redaction; a no-op outside an activity's scope. Returns the value. */
export function holdSecret<T extends string>(value: T): T {
  scope.getStore()?.add(value);
  return value;
}

/** The values held in the current scope. */
export function heldSecrets(): string[] {
  return [...(scope.getStore() ?? [])];
}
