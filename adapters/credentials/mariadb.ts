import type mysql from 'mysql2/promise';
import { ErrorTypes, permanent } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import type { CredentialKind } from './kind';
import { accountOf, checkUsers, identifiedBy, newPassword, targetOf, withMariadbAdmin } from './mariadb-admin';
import type { AdminSession, MariadbAdminDeps, MariadbCredential } from './mariadb-admin';
import { proveRevoked } from './mariadb-proof';
import { retainCurrentPasswordKind } from './mariadb-retain';
import { parseUserPassword } from './values';
import type { UserPassword } from './values';

/** Ends every session of a user but the admin's own; returns how many were ended. */
async function endSessions(s: AdminSession, user: string): Promise<number> {
  const [rows] = await s.conn.query<mysql.RowDataPacket[]>(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
    [user],
  );
  let ended = 0;
  for (const r of rows) {
    // 1094: the session ended by itself meanwhile.
    const gone = await s.conn.query('KILL CONNECTION ?', [Number(r['id'])]).then(
      () => false,
      (e: { errno?: number }) => {
        if (e.errno !== 1094) throw e;
        return true;
      },
    );
    if (!gone) ended += 1;
  }
  return ended;
}

/**
 * MariaDB/MySQL users. By default two users take turns (the "alternating users" scheme, as for
 * PostgreSQL): create gives the user not in the current value a new password and unlocks it, so
 * both work during distribution; revoke locks the old user (unknown password, ACCOUNT LOCK), ends
 * its sessions and proves a login with the old password is refused. `retainCurrentPassword` hands
 * over to MySQL 8's dual passwords (mariadb-retain.ts). Administration goes over rotor's admin
 * account (ROTOR_MARIADB_*), to the servers the policy lists.
 */
export function mariadbUsersKind(deps: MariadbAdminDeps): CredentialKind<MariadbCredential> {
  const retain = retainCurrentPasswordKind(deps);

  function userOf(p: MariadbCredential, cred: UserPassword, what: string): string {
    if (!p.users.includes(cred.username))
      throw permanent(
        ErrorTypes.invalidInput,
        `${what} is for user '${cred.username}', which is not one of users [${p.users.join(', ')}]`,
      );
    return cred.username;
  }

  /** Replaces the password with one nobody knows and locks the account, then ends its sessions. */
  function lock(p: MariadbCredential, user: string): Promise<number> {
    return withMariadbAdmin(deps, p, async (s) => {
      await checkUsers(s, p, false);
      await s.conn.query(`ALTER USER ${accountOf(p, user)} ${identifiedBy(s.server, newPassword(48))} ACCOUNT LOCK`);
      return endSessions(s, user);
    });
  }

  return {
    async create(p, ctx) {
      if (p.retainCurrentPassword) return retain.create(p, ctx);
      const current = userOf(p, parseUserPassword(ctx.currentValue, 'the current value'), 'the current value');
      const next = p.users[0] === current ? p.users[1] : p.users[0];
      if (next === undefined) throw permanent(ErrorTypes.invalidInput, 'spec.credential.users: give two users');
      const password = newPassword(p.length);
      await withMariadbAdmin(deps, p, async (s) => {
        await checkUsers(s, p);
        await s.conn.query(`ALTER USER ${accountOf(p, next)} ${identifiedBy(s.server, password)} ACCOUNT UNLOCK`);
      });
      return JSON.stringify({ username: next, password });
    },

    async discard(p, ctx) {
      if (p.retainCurrentPassword) return retain.discard(p, ctx);
      const pending = userOf(p, parseUserPassword(ctx.pendingValue, 'the pending value'), 'the pending value');
      // The current user keeps serving; only a user distinct from it can be locked.
      if (pending === parseUserPassword(ctx.currentValue, 'the current value').username) return;
      await lock(p, pending);
    },

    async revoke(p, ctx): Promise<RevocationEvidence> {
      if (p.retainCurrentPassword) return retain.revoke(p, ctx);
      const old = parseUserPassword(ctx.oldValue, 'the old value');
      const current = parseUserPassword(ctx.currentValue, 'the current value');
      userOf(p, old, 'the old value');
      if (old.username === current.username)
        return {
          rejected: false,
          detail: `old and current credentials are both for user '${old.username}'; not locking the user in use`,
        };
      const ended = await lock(p, old.username);
      const done = `user ${accountOf(p, old.username)} locked (ACCOUNT LOCK, password replaced), ${ended} session(s) ended`;
      return proveRevoked(targetOf(deps, p), old, current, done);
    },
  };
}
