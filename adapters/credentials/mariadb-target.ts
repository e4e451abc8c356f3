// Kept free of rotor's failure types (and so of the Temporal SDK): the CLI's policy check reads
// the worker's default server without loading a client.

/** Where a MariaDB/MySQL login goes; unset fields fall back to the worker's ROTOR_MARIADB_* defaults. */
export interface MariadbTarget {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
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
