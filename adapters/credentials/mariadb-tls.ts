import { readFileSync } from 'node:fs';
import type { SslOptions } from 'mysql2';
import { isLoopback } from '../loopback';

/** MySQL's `--ssl-mode` names, which ROTOR_MARIADB_SSL_MODE takes. */
export const mariadbSslModes = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'] as const;
type Mode = (typeof mariadbSslModes)[number];

/** A MariaDB connection that TLS settings forbid; the message names the setting and what to set. */
export class MariadbTlsRefused extends Error {
  override readonly name = 'MariadbTlsRefused';
}

/**
 * The TLS of a connection that carries a MariaDB/MySQL password, from the worker's
 * ROTOR_MARIADB_SSL_MODE (default `preferred`) and ROTOR_MARIADB_SSL_CA (a PEM file). Nothing beyond
 * this machine goes unverified: there `preferred` and `required` verify the server's certificate and
 * name (as `verify_identity`; `verify_ca` checks the certificate only) and `disabled` is refused.
 * On loopback the modes mean what MySQL's client means, except that `preferred` stays plaintext (no
 * opportunistic TLS): a dev stack. Throws MariadbTlsRefused for a refused or unknown mode.
 */
export function mariadbTls(host: string, env: NodeJS.ProcessEnv = process.env): SslOptions | undefined {
  const given = env['ROTOR_MARIADB_SSL_MODE'] ?? 'preferred';
  if (!(mariadbSslModes as readonly string[]).includes(given))
    throw new MariadbTlsRefused(
      `ROTOR_MARIADB_SSL_MODE is ${given}; set one of ${mariadbSslModes.join(', ')} (verify_identity beyond this machine)`,
    );
  const mode = given as Mode;
  const local = isLoopback(host);
  if (!local && mode === 'disabled')
    throw new MariadbTlsRefused(
      `ROTOR_MARIADB_SSL_MODE is disabled for MariaDB at ${host}, beyond this machine: the password would travel without verified TLS; set it to verify_identity`,
    );
  if (local && mode === 'disabled') return undefined;
  if (local && mode === 'preferred') return undefined;
  if (local && mode === 'required') return { rejectUnauthorized: false };
  const caFile = env['ROTOR_MARIADB_SSL_CA'];
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new MariadbTlsRefused(
        `ROTOR_MARIADB_SSL_CA=${caFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
  }
  return { rejectUnauthorized: true, verifyIdentity: mode !== 'verify_ca', ...(ca ? { ca } : {}) };
}
