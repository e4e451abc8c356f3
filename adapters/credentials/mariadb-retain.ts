import mysql from 'mysql2/promise';
import { ErrorTypes, permanent } from '../../core/failures';
import type { CredentialKind } from './kind';
import { accountOf, checkUsers, newPassword, targetOf, withMariadbAdmin } from './mariadb-admin';
import type { AdminSession, MariadbAdminDeps, MariadbCredential } from './mariadb-admin';
import { proveRevoked } from './mariadb-proof';
import { retainCurrentPasswordSupport } from './mariadb-server';
import { parseUserPassword } from './values';
import type { UserPassword } from './values';

/**
 * Refuses a server without dual passwords, naming the field: the server's own version decides,
 * never the playbook. Nothing has been changed when this throws.
 */
export function requireDualPasswords(s: AdminSession): void {
  const support = retainCurrentPasswordSupport(s.server);
  if (!support.supported)
    throw permanent(
      ErrorTypes.invalidInput,
      `spec.credential.retainCurrentPassword: ${s.where} is ${support.why}; set retainCurrentPassword: false and give two users with the same grants that take turns (users: [a, b])`,
    );
}

/**
 * `retainCurrentPassword` (MySQL 8.0.14+): one user holds two passwords. Create sets the new one
 * as primary with `RETAIN CURRENT PASSWORD` (the old one becomes secondary, both log in); discard
 * sets the old one back as primary and drops the secondary; revoke runs `DISCARD OLD PASSWORD` and
 * proves the old password refused. Sessions opened with the old password are not ended: the server
 * does not say which password a session used.
 */
export function retainCurrentPasswordKind(deps: MariadbAdminDeps): CredentialKind<MariadbCredential> {
  function userOf(p: MariadbCredential, cred: UserPassword, what: string): string {
    if (cred.username !== p.users[0])
      throw permanent(
        ErrorTypes.invalidInput,
        `${what} is for user '${cred.username}', not '${p.users[0] ?? ''}' (spec.credential.users)`,
      );
    return cred.username;
  }

  return {
    async create(p, { currentValue }) {
      const user = userOf(p, parseUserPassword(currentValue, 'the current value'), 'the current value');
      const password = newPassword(p.length);
      await withMariadbAdmin(deps, p, async (s) => {
        requireDualPasswords(s);
        await checkUsers(s, p);
        await s.conn.query(
          `ALTER USER ${accountOf(p, user)} IDENTIFIED BY ${mysql.escape(password)} RETAIN CURRENT PASSWORD`,
        );
      });
      return JSON.stringify({ username: user, password });
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = parseUserPassword(pendingValue, 'the pending value');
      const current = parseUserPassword(currentValue, 'the current value');
      const user = userOf(p, current, 'the current value');
      userOf(p, pending, 'the pending value');
      if (pending.password === current.password) return;
      await withMariadbAdmin(deps, p, async (s) => {
        // Without dual passwords create cannot have changed anything: nothing to undo.
        if (!retainCurrentPasswordSupport(s.server).supported) return;
        await checkUsers(s, p);
        // The old password becomes primary again (the secondary stays as it is), then the
        // secondary goes: only the old password is left, whether or not create had run.
        await s.conn.query(`ALTER USER ${accountOf(p, user)} IDENTIFIED BY ${mysql.escape(current.password)}`);
        await s.conn.query(`ALTER USER ${accountOf(p, user)} DISCARD OLD PASSWORD`);
      });
    },

    async revoke(p, { oldValue, currentValue }) {
      const old = parseUserPassword(oldValue, 'the old value');
      const current = parseUserPassword(currentValue, 'the current value');
      const user = userOf(p, current, 'the current value');
      userOf(p, old, 'the old value');
      if (old.password === current.password)
        return { rejected: false, detail: `old and current passwords of '${user}' are the same; nothing to discard` };
      await withMariadbAdmin(deps, p, async (s) => {
        requireDualPasswords(s);
        await checkUsers(s, p);
        await s.conn.query(`ALTER USER ${accountOf(p, user)} DISCARD OLD PASSWORD`);
      });
      const done = `secondary password of ${accountOf(p, user)} discarded (DISCARD OLD PASSWORD); sessions opened with it are not ended`;
      return proveRevoked(targetOf(deps, p), old, current, done);
    },
  };
}
