import { readFileSync } from 'node:fs';
import { hkdfSync } from 'node:crypto';

/** One named 32-byte key of a keyring. */
export interface NamedKey {
  id: string;
  key: Buffer;
}

/**
 * Keys of one purpose (payload codec, fingerprints), newest first. The newest writes; every key
 * listed stays readable until it is removed (retired).
 */
export interface Keyring {
  /** The variable(s) it came from, for error messages. */
  readonly source: string;
  readonly newest: NamedKey;
  readonly all: readonly NamedKey[];
  byId(id: string): Buffer | undefined;
}

/** The id of a key given through the single-key variable (`ROTOR_CODEC_KEY`, …). */
export const singleKeyId = 'default';

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** `name` from the environment, else the contents of the file `name_FILE` names (trimmed); an unreadable file throws naming it. */
export function readVar(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const inline = env[name];
  if (inline) return inline.trim();
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`${name}_FILE=${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function decodeKey(text: string, where: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  // Never echo the text: it is key material.
  if (key.length !== 32)
    throw new Error(
      `${where} must decode to 32 bytes (got ${key.length}); generate one with 'openssl rand -base64 32'`,
    );
  return key;
}

/**
 * Loads a 32-byte key from `<NAME>` (hex or base64) or from the file named by `<NAME>_FILE`.
 * Workers need it; clients never do. Fails with the variable names when neither is set.
 */
export function loadKey(name: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const text = readVar(name, env);
  if (!text) throw new Error(`set ${name} (32 bytes, hex or base64) or ${name}_FILE to a file holding it`);
  return decodeKey(text, name);
}

/** A keyring of the given keys, newest first. */
export function keyring(keys: NamedKey[], source = 'keyring'): Keyring {
  const newest = keys[0];
  if (!newest) throw new Error(`${source} holds no key`);
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  return { source, newest, all: keys, byId: (id) => byId.get(id) };
}

function parseList(name: string, text: string): NamedKey[] {
  const keys: NamedKey[] = [];
  const entries = text.split(/[\s,]+/).filter(Boolean);
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq) : '';
    // A bare base64 key has '=' only as padding: never take it for an id, and never echo it.
    if (!idPattern.test(id) || /^=*$/.test(entry.slice(eq + 1)))
      throw new Error(
        `${name} entry ${i + 1}: write 'id=key' with an id of letters, digits, '.', '_' or '-' (at most 32), e.g. ${name}=k2=<new>,k1=<old>`,
      );
    const where = `${name} entry ${i + 1} ('${id}')`;
    if (keys.some((k) => k.id === id)) throw new Error(`${where}: key id '${id}' is listed twice`);
    keys.push({ id, key: decodeKey(entry.slice(eq + 1), where) });
  });
  return keys;
}

/**
 * Loads the keyring of `<NAME>` (e.g. `ROTOR_CODEC_KEY`): `<NAME>S` (or the file `<NAME>S_FILE`)
 * lists `id=key` entries (base64 or hex, comma/space/newline separated), newest first; the single
 * key of `<NAME>`/`<NAME>_FILE`, when set, is kept readable after them as key `default` (or alone,
 * when no list is set). Errors name the variable and entry, never key material.
 */
export function loadKeyring(name: string, env: NodeJS.ProcessEnv = process.env): Keyring {
  const listName = `${name}S`;
  const listText = readVar(listName, env);
  const keys = listText === undefined ? [] : parseList(listName, listText);
  if (listText !== undefined && !keys.length) throw new Error(`${listName} is set but lists no key`);
  const singleText = readVar(name, env);
  if (singleText) {
    const single = decodeKey(singleText, name);
    const clash = keys.find((k) => k.id === singleKeyId);
    if (clash && !clash.key.equals(single))
      throw new Error(
        `${listName} names a key '${singleKeyId}' that differs from ${name}; rename it, or unset ${name}(_FILE)`,
      );
    if (!keys.some((k) => k.key.equals(single))) keys.push({ id: singleKeyId, key: single });
  }
  if (!keys.length)
    throw new Error(
      `set ${listName} (id=key list, newest first) or ${name} (32 bytes, hex or base64), or ${listName}_FILE / ${name}_FILE`,
    );
  return keyring(keys, listText !== undefined ? listName : name);
}

/**
 * A keyring derived from `base` (HKDF-SHA256 under `label`, same ids), for a purpose of its own: it
 * is held exactly where `base` is, rotates with it, and needs no key of its own to provision.
 */
export function derivedKeyring(base: Keyring, label: string, what: string): Keyring {
  return keyring(
    base.all.map((k) => ({ id: k.id, key: Buffer.from(hkdfSync('sha256', k.key, Buffer.alloc(0), label, 32)) })),
    `${what} derived from ${base.source}`,
  );
}
