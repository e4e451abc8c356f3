import { readFileSync } from 'node:fs';
import { ErrorTypes, permanent } from '../../core/failures';
import type { SslOptions } from 'mysql2';
import { mariadbDefaults } from './mariadb-target';
import { mariadbTls } from './mariadb-tls';

/** rotor's admin account on a MariaDB/MySQL server (worker environment, never a playbook). */
export interface MariadbAdmin {
  host: string;
  port: number;
  user: string;
  password: string;
  /** TLS for a connection to `host` (ROTOR_MARIADB_SSL_MODE/CA); throws MariadbTlsRefused when forbidden. */
  tls: (host: string) => SslOptions | undefined;
}

/**
 * rotor's admin account from the environment: ROTOR_MARIADB_HOST/PORT/USER, the password read
 * from ROTOR_MARIADB_PASSWORD_FILE at each call (a rotated key file is picked up without a restart),
 * and TLS from ROTOR_MARIADB_SSL_MODE/ROTOR_MARIADB_SSL_CA (mariadb-tls.ts).
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
    return { ...mariadbDefaults(env), user, password, tls: (host) => mariadbTls(host, env) };
  };
}
