/**
 * Kubeconfig users with `token-file` (a projected service-account token, a token a sidecar renews)
 * keep working when the file changes. client-node reads such a file once, at load, and sends that
 * token until the process restarts; a rotated projected token then fails every call with 401 once
 * the old one expires. Here the file is read again whenever its modification time changes.
 */
import { readFileSync } from 'node:fs';
import { stat, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig, User } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** client-node's authenticator plug-in type, which its index does not export. */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

const providerName = 'rotor-token-file';

interface TokenFileUser extends User {
  readonly authProvider: { name: typeof providerName; config: { path: string } };
}

const isTokenFileUser = (user: User): user is TokenFileUser =>
  (user.authProvider as { name?: string } | undefined)?.name === providerName;

const tokens = new Map<string, { mtimeMs: number; token: string }>();

async function currentToken(path: string): Promise<string> {
  const { mtimeMs } = await stat(path);
  const cached = tokens.get(path);
  if (cached?.mtimeMs === mtimeMs) return cached.token;
  const token = (await readFile(path, 'utf8')).trim();
  tokens.set(path, { mtimeMs, token });
  return token;
}

/** Sends the token file's current content as the bearer token of the users `withTokenFiles` marked. */
export const tokenFileAuthenticator: Authenticator = {
  isAuthProvider: isTokenFileUser,
  async applyAuthentication(user, opts) {
    if (!isTokenFileUser(user)) return;
    const path = user.authProvider.config.path;
    const token = await currentToken(path).catch((e: Error) => {
      throw new Error(`kubeconfig user ${user.name}: cannot read its token-file ${path}: ${e.message}`);
    });
    const request = opts as { headers?: Record<string, string> };
    request.headers = { ...request.headers, Authorization: `Bearer ${token}` };
  },
};

/** The kubeconfig files kubectl would read: KUBECONFIG's list, else ~/.kube/config. */
function kubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  const list = env['KUBECONFIG']?.split(delimiter).filter(Boolean);
  return list?.length ? list : [join(homedir(), '.kube', 'config')];
}

/**
 * user name → token-file path, from the kubeconfig files. Paths are taken as client-node takes them
 * at load (a relative one from the working directory), so both read the same file. The first file
 * naming a user wins, as in client-node's merge.
 */
export function tokenFilesOf(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of kubeconfigFiles(env)) {
    let doc: { users?: { name?: string; user?: { 'token-file'?: string } }[] } | undefined;
    try {
      doc = parse(readFileSync(file, 'utf8')) as typeof doc;
    } catch {
      continue; // client-node has already reported files it cannot load
    }
    for (const u of doc?.users ?? []) {
      const path = u.user?.['token-file'];
      if (!u.name || !path || out.has(u.name)) continue;
      out.set(u.name, path);
    }
  }
  return out;
}

/** `users` with every token-file user marked for `tokenFileAuthenticator` (its load-time token dropped). */
export function withTokenFiles(users: User[], files: Map<string, string>): User[] {
  return users.map((u) => {
    const path = files.get(u.name);
    if (!path) return u;
    const marked: TokenFileUser = { ...u, token: undefined, authProvider: { name: providerName, config: { path } } };
    return marked;
  });
}
