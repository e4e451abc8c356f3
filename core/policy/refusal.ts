/** One thing a playbook may not do: where it says it, which rule refuses it, and what an admin would change. */
export interface PolicyRefusal {
  /** Playbook field, e.g. `spec.secret.store.path`. */
  path: string;
  /** Policy rule, e.g. `tenants[payments].allow.vault`. */
  rule: string;
  message: string;
  /** What an admin would change in the policy to allow it. */
  fix: string;
}

/** `path: message (policy rule …; to allow it an admin would …)`. */
export function formatRefusal(r: PolicyRefusal): string {
  return `${r.path}: ${r.message} (policy rule ${r.rule}; to allow it an admin would ${r.fix})`;
}
