/**
 * Temporal connection settings as the Temporal CLI reads them, through the SDK's environment
 * configuration (`@temporalio/envconfig`): a `temporal.toml` profile (TEMPORAL_CONFIG_FILE, else
 * ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else `default`) overridden by TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_* and TEMPORAL_GRPC_META_*.
 * The CLI, the worker and tests all connect through `temporalEndpoint`, so they agree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadClientConfig, loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { ClientConfigProfile, ConfigDataSource } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { isLoopback } from '../loopback';

const defaultAddress = '127.0.0.1:7233';

/** The host of `host:port` (`[v6]:port` too). */
function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(address);
  return v6?.[1] ?? address.replace(/:\d+$/, '');
}

/** What rotor connects to: address, namespace and, already read from their files, TLS and API key. */
export interface TemporalEndpoint {
  address: string;
  namespace: string;
  /** Undefined: plaintext (only sensible on loopback, as the dev stack runs). */
  tls: TLSConfig | undefined;
  apiKey: string | undefined;
  metadata: Record<string, string> | undefined;
  /** One line for logs and errors, without any secret: address, TLS mode, profile. */
  describe: string;
}

function envRecord(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The config file envconfig reads, as the Temporal CLI finds it. */
function configFile(env: NodeJS.ProcessEnv): string {
  const explicit = env['TEMPORAL_CONFIG_FILE'];
  if (explicit) return explicit;
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'temporalio', 'temporal.toml');
}

function profileNames(file: string): string {
  try {
    const names = Object.keys(loadClientConfig({ configSource: { path: file } }).profiles);
    return names.length ? names.join(', ') : 'none';
  } catch {
    return 'none readable';
  }
}

/** The merged profile (file, then TEMPORAL_* variables); every misconfiguration names what to fix. */
export function temporalProfile(env: NodeJS.ProcessEnv = process.env): ClientConfigProfile {
  const file = configFile(env);
  if (env['TEMPORAL_CONFIG_FILE'] && !existsSync(file))
    throw new Error(`TEMPORAL_CONFIG_FILE names ${file}, which does not exist; fix the path or unset it`);
  // envconfig reads TEMPORAL_TLS_DISABLE_HOST_VERIFICATION but the TypeScript SDK cannot honour it: say so.
  if (env['TEMPORAL_TLS_DISABLE_HOST_VERIFICATION'])
    throw new Error(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is set, but rotor never turns TLS verification off: unset it, give ' +
        "the server's CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH and, if its certificate names another host, TEMPORAL_TLS_SERVER_NAME",
    );
  const profile = env['TEMPORAL_PROFILE'];
  try {
    // Strict: an unknown key (a typo, or `disable_host_verification`) is an error, not silently ignored.
    return loadClientConfigProfile({ overrideEnvVars: envRecord(env), configFileStrict: true });
  } catch (e) {
    const msg = (e as Error).message;
    if (profile && /^Profile '.*' not found/.test(msg)) {
      const where = existsSync(file)
        ? `${file} (profiles: ${profileNames(file)})`
        : `${file}, which does not exist (set TEMPORAL_CONFIG_FILE)`;
      throw new Error(`TEMPORAL_PROFILE '${profile}' is not a profile in ${where}`);
    }
    const hint = msg.includes('disable_host_verification')
      ? '; rotor never turns TLS verification off: remove disable_host_verification and give server_ca_cert_path'
      : '';
    throw new Error(`Temporal client config ${file}: ${msg}${hint}`);
  }
}

type TlsFile = 'client_cert' | 'client_key' | 'server_ca_cert';

/** Where a TLS file setting came from: the TEMPORAL_TLS_* variable when it names this path, else the file key. */
function origin(env: NodeJS.ProcessEnv, key: TlsFile, path: string): string {
  const variable = `TEMPORAL_TLS_${key.toUpperCase()}_PATH`;
  if (env[variable] === path) return variable;
  return `tls.${key}_path of profile '${env['TEMPORAL_PROFILE'] ?? 'default'}' in ${configFile(env)}`;
}

function checkReadable(env: NodeJS.ProcessEnv, key: TlsFile, source: ConfigDataSource | undefined): void {
  if (!source || !('path' in source)) return;
  try {
    readFileSync(source.path);
  } catch (e) {
    throw new Error(
      `${origin(env, key, source.path)} names ${source.path}, which cannot be read: ${(e as Error).message}`,
    );
  }
}

/** The endpoint the CLI and worker connect to; cert files are read now, so a bad path fails at startup. */
export function temporalEndpoint(env: NodeJS.ProcessEnv = process.env): TemporalEndpoint {
  const profile = temporalProfile(env);
  const tls = profile.tls;
  checkReadable(env, 'server_ca_cert', tls?.serverCACert);
  checkReadable(env, 'client_cert', tls?.clientCert);
  checkReadable(env, 'client_key', tls?.clientKey);
  // envconfig silently drops a certificate without its key (and the reverse): refuse instead.
  if (Boolean(tls?.clientCert) !== Boolean(tls?.clientKey))
    throw new Error(
      'a Temporal client certificate needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH ' +
        '(or tls.client_cert_path and tls.client_key_path); only one is set',
    );
  if (tls?.disabled && (profile.apiKey || tls.clientCert))
    throw new Error(
      'TLS is disabled (TEMPORAL_TLS=false or tls.disabled) but an API key or client certificate is configured: ' +
        'they would travel in cleartext. Enable TLS or remove the credential',
    );
  const options = toClientOptions(profile).connectionOptions;
  const address = options.address ?? defaultAddress;
  const namespace = profile.namespace ?? 'default';
  const tlsConfig = options.tls && options.tls !== true ? options.tls : options.tls ? {} : undefined;
  if (!tlsConfig && !isLoopback(hostOf(address)))
    throw new Error(
      `TEMPORAL_ADDRESS ${address} is beyond this machine and TLS is off: workflow inputs, signals and results would travel in cleartext; set TEMPORAL_TLS=true (with TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)`,
    );
  const apiKey = typeof options.apiKey === 'string' ? options.apiKey : undefined;
  const mode = tlsConfig
    ? [
        'TLS',
        tls?.serverCACert ? 'CA from config' : 'system CAs',
        ...(tlsConfig.clientCertPair ? ['client certificate'] : []),
        ...(tlsConfig.serverNameOverride ? [`server name ${tlsConfig.serverNameOverride}`] : []),
      ].join(', ')
    : 'plaintext';
  const extras = [
    ...(apiKey ? ['API key'] : []),
    ...(env['TEMPORAL_PROFILE'] ? [`profile ${env['TEMPORAL_PROFILE']}`] : []),
  ];
  return {
    address,
    namespace,
    tls: tlsConfig,
    apiKey,
    metadata: options.metadata as Record<string, string> | undefined,
    describe: `${address} (namespace ${namespace}; ${[mode, ...extras].join('; ')})`,
  };
}
