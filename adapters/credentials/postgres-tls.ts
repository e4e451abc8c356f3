import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { ErrorTypes, permanent } from '../../core/failures';
import { isLoopback } from '../loopback';

/**
 * The TLS of a PostgreSQL connection that carries a credential, as libpq's `sslmode` would say it,
 * except that nothing beyond this machine goes unverified: `prefer` and `require` verify the server
 * (certificate and name, as `verify-full`; `verify-ca` checks the certificate only), and
 * `disable`, `allow` and `no-verify` are refused with an error naming `setting`. On loopback (or a
 * Unix socket) the modes mean what libpq means, for a dev stack. `rootCertFile` is PGSSLROOTCERT.
 */
export function postgresTls(
  host: string | undefined,
  sslmode: string | undefined,
  setting: string,
  rootCertFile?: string,
): pg.ClientConfig['ssl'] {
  const h = host ?? 'localhost';
  const mode = sslmode ?? 'prefer';
  if (h.startsWith('/') || isLoopback(h)) {
    if (mode === 'require') return { rejectUnauthorized: false };
    return mode.startsWith('verify') ? { rejectUnauthorized: true } : false;
  }
  if (!['prefer', 'require', 'verify-ca', 'verify-full'].includes(mode))
    throw permanent(
      ErrorTypes.invalidInput,
      `${setting} is ${mode} for PostgreSQL at ${h}, beyond this machine: the credential would travel without verified TLS; set it to verify-full (prefer and require are verified too beyond loopback)`,
    );
  let ca: string | undefined;
  if (rootCertFile) {
    try {
      ca = readFileSync(rootCertFile, 'utf8');
    } catch (e) {
      throw new Error(
        `PGSSLROOTCERT=${rootCertFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
  }
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}
