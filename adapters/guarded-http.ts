import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { isForbiddenAddress } from '../core/policy/addresses';

type Resolve = (host: string, options: LookupAllOptions, cb: (e: Error | null, a: LookupAddress[]) => void) => void;

/**
 * A socket `lookup` that resolves every address of a name and refuses the connection when any of
 * them is link-local or a metadata address. It runs at connect time, on the addresses actually
 * used, so a name cannot resolve one way for a check and another way for the request.
 */
export function guardedLookup(resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { family: options.family ?? 0, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find((a) => isForbiddenAddress(a.address));
      const first = addresses[0];
      if (bad || !first) {
        const e = Object.assign(
          new Error(
            bad
              ? `${hostname} resolves to ${bad.address}, a link-local or metadata address; canaries may not call it`
              : `${hostname} has no address`,
          ),
          { code: 'EROTORFORBIDDEN' },
        );
        return callback(e, '', 0);
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/** What a guarded request got back: the status, and where a redirect pointed (never followed). */
export interface GuardedResponse {
  status: number;
  location?: string | undefined;
}

/**
 * One HTTP(S) request that never reaches link-local or metadata addresses and never follows a
 * redirect (the credential header would go along). Only http: and https: URLs.
 */
export function guardedRequest(
  url: URL,
  opts: { method: string; headers: Record<string, string>; signal: AbortSignal },
): Promise<GuardedResponse> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return Promise.reject(new Error(`${url.protocol} URLs are not allowed; use https:`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // Literal addresses never reach `lookup`, so they are checked here.
  if (isIP(host) && isForbiddenAddress(host))
    return Promise.reject(new Error(`${host} is a link-local or metadata address; canaries may not call it`));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: opts.method, headers: opts.headers, signal: opts.signal, lookup: guardedLookup() });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on('error', reject);
    req.end();
  });
}
