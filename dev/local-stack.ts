/**
 * `dev/stack up [service…] | down | status [--json] | env | test-server` — the local stack of real
 * services as native processes on loopback (no Docker), and the test server of the workflow tests.
 * See README "Local stack".
 */
import { Command } from 'commander';
import { ports, stackEnv, stackPaths, stackTlsEnv } from './local-stack/config';
import { enabledOptional, stackStatus, stackDown, stackUp } from './local-stack/manager';
import { temporalTestServer } from './local-stack/test-server';
import type { StackContext } from './local-stack/service';
import { temporalTlsFiles } from './local-stack/services/temporal-tls';

const ctx: StackContext = {
  paths: stackPaths(),
  log: (line) => process.stderr.write(`[stack] ${line}\n`),
};

const program = new Command('stack').description('Local rotor stack: real services as processes on loopback');

program
  .command('up')
  .argument('[services...]', 'only these services (and what they depend on)')
  .option('--temporal-postgres', 'also Temporal server on PostgreSQL, 127.0.0.1:7235 (or ROTOR_TEMPORAL_POSTGRES=1)')
  .description('install (cached), start and health-check the services; idempotent')
  .action(async (services: string[], opts: { temporalPostgres?: boolean }) => {
    await stackUp(ctx, services, enabledOptional(process.env, opts.temporalPostgres ? ['temporal-postgres'] : []));
  });

program
  .command('down')
  .argument('[services...]', 'only these services (not what depends on them)')
  .description('stop the processes this stack started, by pid')
  .action(async (services: string[]) => {
    await stackDown(ctx, services);
  });

program
  .command('status')
  .option('--json', 'machine-readable output')
  .description("each service's state, version, address, pids and log files")
  .action(async (opts: { json?: boolean }) => {
    const statuses = await stackStatus(ctx);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ stateDir: ctx.paths.stateDir, services: statuses }, null, 2)}\n`);
    } else {
      for (const s of statuses) {
        process.stdout.write(
          `${s.name.padEnd(10)} ${s.state.padEnd(10)} ${s.version.padEnd(12)} ${s.address.padEnd(40)} pids=${s.pids.join(',') || '-'}${s.detail ? `  (${s.detail})` : ''}\n`,
        );
        for (const n of s.nodes ?? []) process.stdout.write(`  ${n.cluster} node ${n.node}: ${n.state}\n`);
      }
    }
    if (statuses.some((s) => s.state !== 'healthy')) process.exitCode = 1;
  });

program
  .command('env')
  .description('print the stack\'s client environment as shell exports: eval "$(dev/stack env)"')
  .action(() => {
    const exports = { ...stackEnv(ctx.paths), ...stackTlsEnv(ctx.paths) };
    const lines = Object.entries(exports).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`);
    const tls = temporalTlsFiles(ctx.paths);
    lines.push(
      '# Vault over TLS (listener of service vault): export VAULT_ADDR="$ROTOR_VAULT_TLS_ADDR" VAULT_CACERT="$ROTOR_VAULT_TLS_CACERT"\n',
      `# Temporal on PostgreSQL (optional service temporal-postgres): export TEMPORAL_ADDRESS='127.0.0.1:${ports.temporalPostgres.frontend.grpc}'\n`,
      `# Temporal over mTLS (service temporal-tls): unset TEMPORAL_ADDRESS; export TEMPORAL_CONFIG_FILE='${tls.configFile}' TEMPORAL_PROFILE='${tls.profile}'\n`,
    );
    process.stdout.write(lines.join(''));
  });

program
  .command('test-server')
  .description("fetch (cached) Temporal's time-skipping test server for the workflow tests; print its path")
  .action(async () => {
    process.stdout.write(`${await temporalTestServer(ctx)}\n`);
  });

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`stack: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
