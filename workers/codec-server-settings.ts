/** The codec server's settings from its environment, refused with the variable to set. */
import { readFileSync } from 'node:fs';
import { temporalSettings } from '../adapters/temporal/connection';
import { isLoopback } from '../adapters/loopback';
import { readVar } from '../adapters/keys';
import { uiOrigins } from './codec-server';

/** What the codec server serves, and how it refuses; every error names the variable to set. */
export interface CodecServerSettings {
  host: string;
  port: number;
  token: string;
  allowedOrigins: string[];
  allowedHosts: string[];
  tls?: { cert: string; key: string };
}

/**
 * Reads the codec server's environment: `ROTOR_CODEC_HOST` (default 127.0.0.1), `ROTOR_CODEC_PORT`
 * (8888), `ROTOR_CODEC_SERVER_TOKEN(_FILE)` (required), `TEMPORAL_UI_URL` (the one allowed browser
 * origin), `ROTOR_CODEC_PUBLIC_HOSTS` (extra `host:port` names it answers to, e.g. a Service's),
 * `ROTOR_CODEC_TLS_CERT_FILE` and `ROTOR_CODEC_TLS_KEY_FILE` (HTTPS; required off loopback, where
 * decrypted payloads would otherwise cross the network in clear).
 */
export function codecServerSettings(env: NodeJS.ProcessEnv): CodecServerSettings {
  const port = Number(env['ROTOR_CODEC_PORT'] ?? 8888);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`ROTOR_CODEC_PORT must be a port number, got '${env['ROTOR_CODEC_PORT']}'`);
  const host = env['ROTOR_CODEC_HOST'] ?? '127.0.0.1';
  const token = readVar('ROTOR_CODEC_SERVER_TOKEN', env);
  if (!token || token.length < 16)
    throw new Error(
      'ROTOR_CODEC_SERVER_TOKEN (or ROTOR_CODEC_SERVER_TOKEN_FILE) must hold a token of 16 characters or more: whoever has it can read decrypted payloads',
    );
  const certFile = env['ROTOR_CODEC_TLS_CERT_FILE'];
  const keyFile = env['ROTOR_CODEC_TLS_KEY_FILE'];
  if (Boolean(certFile) !== Boolean(keyFile))
    throw new Error('ROTOR_CODEC_TLS_CERT_FILE and ROTOR_CODEC_TLS_KEY_FILE must be set together');
  if (!isLoopback(host) && !certFile)
    throw new Error(
      `ROTOR_CODEC_HOST=${host} is not loopback: set ROTOR_CODEC_TLS_CERT_FILE and ROTOR_CODEC_TLS_KEY_FILE, or listen on 127.0.0.1 behind a TLS proxy`,
    );
  const loopbackHosts = isLoopback(host) ? ['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`) : [];
  const publicHosts = (env['ROTOR_CODEC_PUBLIC_HOSTS'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (loopbackHosts.length === 0 && publicHosts.length === 0)
    throw new Error(
      `ROTOR_CODEC_PUBLIC_HOSTS must list the host:port names clients use to reach ${host}:${port} (the Host header is checked)`,
    );
  return {
    host,
    port,
    token,
    allowedOrigins: uiOrigins(temporalSettings(env).uiUrl),
    allowedHosts: [...loopbackHosts, ...publicHosts],
    ...(certFile && keyFile
      ? { tls: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } }
      : {}),
  };
}
