/** Whether a canary passed, and why not in words that never contain the credential. */
export interface CanaryOutcome {
  ok: boolean;
  detail: string;
}
