import { spawn } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import type { CommandSandboxSettings } from '../../core/policy/schema';

/** The uid and gid sandboxed command canaries run as (`nobody`): never the worker's. */
export const sandboxUid = 65534;

/** Whether this worker can create the sandbox, and why not in words an operator can act on. */
export type SandboxStatus = { usable: true } | { usable: false; reason: string };

/** A program and its argv: what to spawn for one canary. */
export interface Invocation {
  file: string;
  args: string[];
}

/** Top-level host directories a program needs: merged-/usr links are recreated, real directories bound read-only. */
const systemDirs = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** The /etc entries the loader and tools need; nothing naming hosts, users, keys or services. */
const etcEntries = ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives', '/etc/localtime'];

/** `--symlink` for a merged-/usr link, `--ro-bind` for a real directory, nothing when absent. */
function systemDirArgs(dir: string): string[] {
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return ['--symlink', readlinkSync(dir), dir];
    return st.isDirectory() ? ['--ro-bind', dir, dir] : [];
  } catch {
    return [];
  }
}

/**
 * How to run `argv` in the bubblewrap sandbox: uid/gid 65534 in new user, mount, pid, ipc, uts,
 * cgroup and network namespaces (only its own loopback), a read-only root holding /usr, the
 * loader's /etc entries and the policy's `readOnlyPaths`, a fresh /proc of its own pid namespace,
 * a minimal /dev and an empty /tmp. `--die-with-parent` plus the pid namespace mean that killing
 * bwrap kills every process the canary started, however it detached. A root worker first drops
 * to uid 65534 with setpriv, so the canary is another uid on the host too, not only inside.
 */
export function bubblewrapInvocation(
  settings: Pick<CommandSandboxSettings, 'readOnlyPaths'>,
  argv: readonly string[],
  opts: { bwrap?: string; uid?: number | undefined } = {},
): Invocation {
  const bwrap = opts.bwrap ?? 'bwrap';
  const id = String(sandboxUid);
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--uid',
    id,
    '--gid',
    id,
    '--hostname',
    'rotor-canary',
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    '/usr',
    '/usr',
    ...systemDirs.flatMap(systemDirArgs),
    ...etcEntries.flatMap((e) => ['--ro-bind-try', e, e]),
    ...settings.readOnlyPaths.flatMap((p) => ['--ro-bind', p, p]),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--remount-ro',
    '/',
    '--chdir',
    '/tmp',
    '--',
    ...argv,
  ];
  const root = (opts.uid ?? process.getuid?.()) === 0;
  return root
    ? { file: 'setpriv', args: [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--', bwrap, ...args] }
    : { file: bwrap, args };
}

/** The environment inside the sandbox: the scrubbed variables, HOME on the sandbox's own /tmp. */
export function sandboxEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, HOME: '/tmp' };
}

const usable: SandboxStatus = { usable: true };
const probed = new Map<string, Promise<SandboxStatus>>();

/**
 * Whether the sandbox can be created here: runs `true` in it. A success is remembered for the
 * process; a failure is not, so installing bubblewrap or enabling user namespaces needs no restart.
 */
export function sandboxStatus(
  settings: Pick<CommandSandboxSettings, 'readOnlyPaths'>,
  opts: { bwrap?: string } = {},
): Promise<SandboxStatus> {
  const key = JSON.stringify([opts.bwrap, settings.readOnlyPaths]);
  const known = probed.get(key);
  if (known) return known;
  const probe = runProbe(bubblewrapInvocation(settings, ['true'], opts)).then((s) => {
    if (!s.usable) probed.delete(key);
    return s;
  });
  probed.set(key, probe);
  return probe;
}

function runProbe({ file, args }: Invocation): Promise<SandboxStatus> {
  return new Promise((resolve) => {
    // The worker's PATH, as the canaries get it: bwrap is found where their runs will find it.
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: '/', env, timeout: 10_000 });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-500)));
    child.on('error', (e: NodeJS.ErrnoException) =>
      resolve({
        usable: false,
        reason: e.code === 'ENOENT' ? `${file} is not installed` : `${file} could not start: ${e.message}`,
      }),
    );
    child.on('close', (code, sig) =>
      resolve(
        code === 0
          ? usable
          : {
              usable: false,
              reason:
                code === 127
                  ? `bwrap is not installed or not on PATH (${err.trim()})`
                  : `bubblewrap failed (${sig ?? `exit ${code}`}): ${err.trim() || 'no message'}`,
            },
      ),
    );
  });
}
