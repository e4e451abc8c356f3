import { readFileSync } from 'node:fs';
import { ErrorTypes, permanent } from '../../core/failures';

/** Where a MariaDB/MySQL login goes; unset fields fall back to the worker's ROTOR_MARIADB_* defaults. */
export interface MariadbTarget {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
}

/** rotor's admin account on a MariaDB/MySQL server (worker environment, never a playbook). */
export interface MariadbAdmin {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The worker's default MariaDB server (ROTOR_MARIADB_HOST / ROTOR_MARIADB_PORT), as for a login without host or port. */
export function mariadbDefaults(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  return {
    host: env['ROTOR_MARIADB_HOST'] ?? 'localhost',
    port: env['ROTOR_MARIADB_PORT'] ? Number(env['ROTOR_MARIADB_PORT']) : 3306,
  };
}

/** `host:port` for reports, with the worker's defaults filled in. */
export function describeMariadbTarget(t: MariadbTarget, env: NodeJS.ProcessEnv = process.env): string {
  const d = mariadbDefaults(env);
  return `${t.host ?? d.host}:${t.port ?? d.port}${t.database ? `/${t.database}` : ''}`;
}

/**
 * rotor's admin account from the environment: ROTOR_MARIADB_HOST/PORT/USER, and the password read
 * from ROTOR_MARIADB_PASSWORD_FILE at each call (a rotated key file is picked up without a restart).
 */
export function mariadbAdminFromEnv(env: NodeJS.ProcessEnv = process.env): () => MariadbAdmin {
  return () => {
    const file = env['ROTOR_MARIADB_PASSWORD_FILE'];
    const user = env['ROTOR_MARIADB_USER'];
    if (!file || !user)
      throw permanent(
        ErrorTypes.invalidInput,
        'the worker has no MariaDB admin account: set ROTOR_MARIADB_USER and ROTOR_MARIADB_PASSWORD_FILE (and ROTOR_MARIADB_HOST/PORT)',
      );
    let password: string;
    try {
      password = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw permanent(
        ErrorTypes.invalidInput,
        `ROTOR_MARIADB_PASSWORD_FILE ${file} cannot be read: ${(e as Error).message}`,
      );
    }
    return { ...mariadbDefaults(env), user, password };
  };
}
