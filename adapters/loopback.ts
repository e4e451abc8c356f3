/** Whether a host is this machine: the one place rotor lets TLS verification be switched off (a dev stack). */
import { isIP } from 'node:net';

/** True for `localhost` and loopback addresses (127.0.0.0/8, ::1, with or without brackets). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && host === '::1';
}
