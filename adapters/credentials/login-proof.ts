import type { RevocationEvidence } from '../../core/status';
import type { UserPassword } from './values';

/**
 * What a database login attempt produced. `refused` is true only when the server rejected the login
 * itself (PostgreSQL SQLSTATE class 28; MariaDB 1045, 4151, 3118, 1862).
 */
export interface LoginOutcome {
  ok: boolean;
  refused: boolean;
  /** SQLSTATE (PostgreSQL), error number (MariaDB) or Node error code, when there is one. */
  code?: string | undefined;
  /** Server or driver message, with the password redacted. */
  message: string;
}

/**
 * The evidence of a database revoke from two real logins: `done` (what revoke changed), then the
 * old credential's login (refused is the proof) and the current one's (a failure is a warning).
 */
export function loginEvidence(
  done: string,
  where: string,
  old: { cred: UserPassword; login: LoginOutcome },
  current: { cred: UserPassword; login: LoginOutcome },
): RevocationEvidence {
  const oldPart = old.login.ok
    ? `login as '${old.cred.username}' with the old password still SUCCEEDED on ${where}`
    : `login as '${old.cred.username}' with the old password refused by ${where}: ${old.login.code} ${old.login.message}`;
  const newPart = current.login.ok
    ? `login as '${current.cred.username}' with the current credential succeeded`
    : `WARNING: login as '${current.cred.username}' with the current credential failed: ${current.login.code ?? ''} ${current.login.message}`.trim();
  return { rejected: old.login.refused, detail: `${done}; ${oldPart}; ${newPart}` };
}
