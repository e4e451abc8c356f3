import { readFileSync } from 'node:fs';

/**
 * Loads a 32-byte key from `<NAME>` (hex or base64) or from the file named by `<NAME>_FILE`.
 * Workers need it; clients never do. Fails with the variable names when neither is set.
 */
export function loadKey(name: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const inline = env[name];
  const file = env[`${name}_FILE`];
  let text: string | undefined = inline;
  if (!text && file) {
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new Error(`${name}_FILE=${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  if (!text) throw new Error(`set ${name} (32 bytes, hex or base64) or ${name}_FILE to a file holding it`);
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32)
    throw new Error(`${name} must decode to 32 bytes (got ${key.length}); generate one with 'openssl rand -hex 32'`);
  return key;
}
