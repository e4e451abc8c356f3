import { RetryableErrorTypes, retryable } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import type { MariadbTarget } from './mariadb-target';
import { loginEvidence } from './login-proof';
import { tryMariadbLogin } from './mariadb-login';
import type { UserPassword } from './values';

const proofTimeoutMs = 10_000;

/** The proof after a revoke: the old credential refused, the current one working, as evidence text. */
export async function proveRevoked(
  target: MariadbTarget & { host: string; port: number },
  old: UserPassword,
  current: UserPassword,
  done: string,
): Promise<RevocationEvidence> {
  const where = `${target.host}:${target.port}`;
  const oldLogin = await tryMariadbLogin(target, old, { timeoutMs: proofTimeoutMs });
  if (!oldLogin.ok && !oldLogin.refused)
    // Unreachable server or timeout proves nothing; retrying the (idempotent) revoke will.
    throw retryable(
      RetryableErrorTypes.mariadb,
      `${done} but could not check the old password on ${where}: ${oldLogin.code ?? ''} ${oldLogin.message}`.trim(),
    );
  const newLogin = await tryMariadbLogin(target, current, { timeoutMs: proofTimeoutMs });
  return loginEvidence(done, where, { cred: old, login: oldLogin }, { cred: current, login: newLogin });
}
