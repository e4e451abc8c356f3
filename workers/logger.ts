import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/worker';
import { pino } from 'pino';
import type { Logger } from 'pino';

/**
 * The worker's structured log (JSON lines on stderr, or ROTOR_LOG_FILE). Activity and workflow
 * logs reach it through the Temporal runtime logger. Known secret-bearing field names are
 * redacted as a last line of defence; code never logs values in the first place.
 */
export function createLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const file = env['ROTOR_LOG_FILE'];
  return pino(
    {
      level: env['ROTOR_LOG_LEVEL'] ?? 'info',
      base: { service: 'rotor-worker' },
      redact: {
        paths: [
          'value',
          'secret',
          'password',
          'token',
          'credential',
          '*.value',
          '*.password',
          '*.token',
          '*.credential',
        ],
        censor: '[redacted]',
      },
    },
    file ? pino.destination({ dest: file, sync: true, mkdir: true }) : pino.destination(2),
  );
}

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes the Temporal SDK's own logs (and workflow/activity `log` calls) into `logger`, and serves
 * the SDK's own Prometheus metrics at `sdkMetricsAddress` when given. Once per process.
 */
export function installRuntimeLogger(logger: Logger, sdkMetricsAddress?: string): void {
  Runtime.install({
    ...(sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } } : {}),
    logger: new DefaultLogger('INFO', (entry) => {
      logger[levels[entry.level]]({ ...entry.meta, sdk: true }, entry.message);
    }),
  });
}
