import { isLoopback } from './loopback';

/**
 * Refuses an `http://` address beyond this machine, naming the setting and what would travel in
 * cleartext: rotor talks plaintext to loopback services only (a dev stack).
 */
export function refusePlaintext(setting: string, address: string, carries: string): void {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return; // Not a URL: the client that parses it names the problem.
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    throw new Error(
      `${setting} ${address} is plaintext http beyond this machine: ${carries} would travel in cleartext; use https:// (with its CA if private)`,
    );
}
