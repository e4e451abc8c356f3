/**
 * The calls a CA rollover makes to Vault's PKI multi-issuer API, on one mount. Private keys are
 * made and kept by Vault (`root/generate/internal`); what leaves here is certificates (public),
 * issuer ids and serials. A test leaf's private key is returned to the canary only, in memory.
 */
import type NodeVault from 'node-vault';
import { X509Certificate } from 'node:crypto';
import { ErrorTypes, permanent } from '../../core/failures';
import { vaultFailure, vaultStatus } from '../vault-client';
import { vaultApiPath } from '../vault-path';
import type { Cert } from './vault-pki-ca-pem';
import { issuedBy } from './vault-pki-ca-pem';

/** One issuer of the mount as `LIST <mount>/issuers` names it. */
export interface Issuer {
  id: string;
  name: string;
  /** Serial of its certificate, as Vault writes it (`41:d7:…`). */
  serial: string;
  isDefault: boolean;
}

/** A leaf of an issuer that is neither expired nor revoked. */
export interface LiveLeaf {
  serial: string;
  subject: string;
  notAfter: string;
}

type Data<T> = { data: T };

/** Maps a PKI call's error; a 400/404 is bad input (a wrong mount, role or issuer), named. */
export function pkiFailure(e: unknown, what: string): Error {
  return vaultFailure(e, 'vault', what, {
    statuses: [400, 404],
    failure: (reason) => permanent(ErrorTypes.invalidInput, `vault: cannot ${what}: ${reason}`),
  });
}

/** The PKI calls on `mount`. */
export function pkiMount(vault: NodeVault.client, mount: string) {
  const path = (...parts: string[]) => vaultApiPath(mount, ...parts);
  const call = async <T>(what: string, f: () => Promise<unknown>): Promise<T> => {
    try {
      return (await f()) as T;
    } catch (e) {
      throw pkiFailure(e, what);
    }
  };

  async function issuers(): Promise<Issuer[]> {
    let res: Data<{
      keys?: string[];
      key_info?: Record<string, { issuer_name?: string; serial_number?: string; is_default?: boolean }>;
    }>;
    try {
      res = (await vault.list(path('issuers'))) as typeof res;
    } catch (e) {
      if (vaultStatus(e) === 404) return [];
      throw pkiFailure(e, `list ${mount}/issuers`);
    }
    return (res.data.keys ?? []).map((id) => {
      const info = res.data.key_info?.[id] ?? {};
      return {
        id,
        name: info.issuer_name ?? '',
        serial: info.serial_number ?? '',
        isDefault: info.is_default === true,
      };
    });
  }

  return {
    mount,
    issuers,

    /** The issuer whose certificate is `cert`, undefined when the mount has none. */
    async issuerOf(cert: Cert): Promise<Issuer | undefined> {
      return (await issuers()).find((i) => i.serial === cert.serial);
    },

    /** The issuer named `name`, undefined when there is none. */
    async issuerNamed(name: string): Promise<Issuer | undefined> {
      return (await issuers()).find((i) => i.name === name);
    },

    /** The certificate of one issuer (PEM). */
    async certificateOf(ref: string): Promise<string> {
      const res = await call<Data<{ certificate: string }>>(`read ${mount}/issuer/${ref}`, () =>
        vault.read(path('issuer', ref)),
      );
      return res.data.certificate;
    },

    /** A new root issuer (and key) named `name`, made inside Vault; never made default by rotor here. */
    async generateRoot(o: {
      name: string;
      commonName: string;
      keyType: 'ec' | 'rsa';
      ttlSeconds: number;
    }): Promise<void> {
      await call(`generate a root issuer in ${mount}`, () =>
        vault.write(path('root', 'generate', 'internal'), {
          common_name: o.commonName,
          issuer_name: o.name,
          key_name: o.name,
          key_type: o.keyType,
          key_bits: o.keyType === 'ec' ? 256 : 2048,
          ttl: `${o.ttlSeconds}s`,
        }),
      );
    },

    /** The id of the mount's default issuer, undefined when it has none. */
    async defaultIssuer(): Promise<string | undefined> {
      const res = await call<Data<{ default?: string }>>(`read ${mount}/config/issuers`, () =>
        vault.read(path('config', 'issuers')),
      );
      return res.data.default || undefined;
    },

    async setDefault(id: string): Promise<void> {
      await call(`set the default issuer of ${mount}`, () => vault.write(path('config', 'issuers'), { default: id }));
    },

    /** Deletes an issuer and its key; an issuer already gone is nothing to do. */
    async deleteIssuer(issuer: Issuer): Promise<void> {
      await call(`delete ${mount}/issuer/${issuer.id}`, () => vault.delete(path('issuer', issuer.id)));
      // The key stays behind an issuer's deletion; it is the private key, so it goes too.
      await vault.delete(path('key', issuer.name)).catch((e: unknown) => {
        if (vaultStatus(e) !== 404 && vaultStatus(e) !== 400) throw pkiFailure(e, `delete ${mount}/key/${issuer.name}`);
      });
    },

    /** The issuer's `usage` (e.g. `crl-signing,issuing-certificates,…`). */
    async usageOf(id: string): Promise<string[]> {
      const res = await call<Data<{ usage?: string }>>(`read ${mount}/issuer/${id}`, () =>
        vault.read(path('issuer', id)),
      );
      return (res.data.usage ?? '').split(',').filter(Boolean);
    },

    /** Sets only `usage` (a merge patch: a POST would clear the issuer's name and URLs). */
    async setUsage(id: string, usage: readonly string[]): Promise<void> {
      await call(`change the usage of ${mount}/issuer/${id}`, () =>
        vault.update(path('issuer', id), { usage: usage.join(',') }),
      );
    },

    /** Issues a leaf from one issuer through `role`; Vault's refusal is returned, not thrown. */
    async issueFrom(
      id: string,
      role: string,
      commonName: string,
      ttl: string,
    ): Promise<{ ok: true; certificate: string; privateKey: string; serial: string } | { ok: false; refusal: string }> {
      try {
        const res = (await vault.write(path('issuer', id, 'issue', role), { common_name: commonName, ttl })) as Data<{
          certificate: string;
          private_key: string;
          serial_number: string;
        }>;
        return {
          ok: true,
          certificate: res.data.certificate,
          privateKey: res.data.private_key,
          serial: res.data.serial_number,
        };
      } catch (e) {
        if (vaultStatus(e) === 400 || vaultStatus(e) === 500) {
          const reason = ((e as Error).message || '').replace(/\s+/g, ' ').trim();
          return { ok: false, refusal: `HTTP ${vaultStatus(e)}: ${reason}` };
        }
        throw pkiFailure(e, `issue a leaf from ${mount}/issuer/${id} with role ${role}`);
      }
    },

    async revokeSerial(serial: string): Promise<void> {
      await call(`revoke ${serial} in ${mount}`, () => vault.write(path('revoke'), { serial_number: serial }));
    },

    /** Leaves in the mount's certificate store issued by `ca`, neither expired nor revoked. */
    async liveLeavesOf(ca: Cert, now = Date.now()): Promise<LiveLeaf[]> {
      let serials: string[];
      try {
        serials = ((await vault.list(path('certs'))) as Data<{ keys?: string[] }>).data.keys ?? [];
      } catch (e) {
        if (vaultStatus(e) === 404) return [];
        throw pkiFailure(e, `list ${mount}/certs`);
      }
      const live: LiveLeaf[] = [];
      for (const serial of serials) {
        const res = await call<Data<{ certificate?: string; revocation_time?: number }>>(
          `read ${mount}/cert/${serial}`,
          () => vault.read(path('cert', serial)),
        );
        if (!res.data.certificate || (res.data.revocation_time ?? 0) > 0) continue;
        const x509 = new X509Certificate(res.data.certificate);
        if (x509.ca || Date.parse(x509.validTo) <= now || !issuedBy(x509, ca)) continue;
        live.push({
          serial,
          subject: x509.subject.replace(/\n/g, ', '),
          notAfter: new Date(x509.validTo).toISOString(),
        });
      }
      return live;
    },
  };
}

/** The PKI calls on one mount. */
export type PkiMount = ReturnType<typeof pkiMount>;
