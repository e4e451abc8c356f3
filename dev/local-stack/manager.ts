import { mkdirSync } from 'node:fs';
import { ensureBubblewrap } from './bubblewrap';
import { ensureKeys } from './keys';
import { recordedProcessIds, runningPid, logFileOf, stopProcess, waitHealthy } from './process';
import type { ServiceStatus, StackContext, StackService } from './service';
import { services } from './services/index';

function byName(name: string): StackService {
  const s = services.find((x) => x.name === name);
  if (!s) throw new Error(`unknown service '${name}'; known: ${services.map((x) => x.name).join(', ')}`);
  return s;
}

/**
 * Optional services enabled by their environment variable (`ROTOR_TEMPORAL_POSTGRES=1`) or named
 * in `also` (the flags of `up`).
 */
export function enabledOptional(env: NodeJS.ProcessEnv = process.env, also: string[] = []): string[] {
  return services
    .filter((s) => s.optional && (env[s.optional.enabledBy] === '1' || also.includes(s.name)))
    .map((s) => s.name);
}

/** The services `up` starts when none is named: every required one and the enabled optional ones. */
function defaultServices(optional: string[]): string[] {
  return services.filter((s) => !s.optional || optional.includes(s.name)).map((s) => s.name);
}

/** The named services plus everything they depend on, dependencies first. */
function withDependencies(names: string[]): StackService[] {
  const order: StackService[] = [];
  const visit = (n: string) => {
    const s = byName(n);
    if (order.includes(s)) return;
    s.dependsOn.forEach(visit);
    order.push(s);
  };
  names.forEach(visit);
  return order;
}

/**
 * Installs (cached) and starts services, dependencies first, each health-checked before the next.
 * Without names: every required service and the optional ones enabled by {@link enabledOptional}.
 */
export async function stackUp(ctx: StackContext, names: string[], optional = enabledOptional()): Promise<void> {
  mkdirSync(ctx.paths.stateDir, { recursive: true });
  ensureKeys(ctx);
  const todo = withDependencies(names.length ? names : defaultServices(optional));
  // Builds are the slow part and independent: run them together, starts stay ordered. Workers on
  // this machine sandbox command canaries with bubblewrap.
  await Promise.all([ensureBubblewrap(ctx), ...todo.map((s) => s.install(ctx))]);
  for (const s of todo) {
    if ((await s.health(ctx)) === undefined) {
      ctx.log(`${s.name}: already healthy at ${s.address}`);
      continue;
    }
    ctx.log(`${s.name}: starting`);
    await s.start(ctx);
    // Multi-process services (kube-*, eso-*) have no log named after the service itself.
    const own = recordedProcessIds(ctx).filter((id) => id === s.name || id.startsWith(`${s.name}-`));
    await waitHealthy(
      s.name,
      () => s.health(ctx),
      logFileOf(ctx, own.includes(s.name) ? s.name : (own[0] ?? s.name)),
      120_000,
    );
    ctx.log(`${s.name}: healthy at ${s.address}`);
  }
}

/** The recorded process ids that belong to service `s` (`<name>` or `<name>-…`). */
const idsOf = (s: StackService, ids: string[]) => ids.filter((id) => id === s.name || id.startsWith(`${s.name}-`));

/**
 * Stops, newest service first, every process the stack recorded a pid for; nothing else. A
 * service's own `stop` runs first (nodes delete their pods and unmount while kubelets still run).
 * With names, only those services (not what depends on them).
 */
export async function stackDown(ctx: StackContext, names: string[] = []): Promise<void> {
  const ids = recordedProcessIds(ctx);
  const chosen = names.map(byName);
  for (const s of [...services].reverse()) {
    if (chosen.length && !chosen.includes(s)) continue;
    if (s.stop) await s.stop(ctx);
    for (const id of idsOf(s, recordedProcessIds(ctx))) {
      if (await stopProcess(ctx, id)) ctx.log(`stopped ${id}`);
    }
  }
  if (chosen.length) return;
  const leftovers = ids.filter((id) => !services.some((s) => idsOf(s, [id]).length));
  for (const id of leftovers) {
    if (await stopProcess(ctx, id)) ctx.log(`stopped ${id}`);
  }
}

/** Every required service, and each optional one that is enabled or has recorded processes. */
export async function stackStatus(ctx: StackContext, optional = enabledOptional()): Promise<ServiceStatus[]> {
  const ids = recordedProcessIds(ctx);
  const shown = services.filter((s) => !s.optional || optional.includes(s.name) || idsOf(s, ids).length);
  return Promise.all(
    shown.map(async (s) => {
      const own = idsOf(s, ids);
      const pids = own.map((id) => runningPid(ctx, id)).filter((p): p is number => p !== undefined);
      const reason = await s.health(ctx).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      const state: ServiceStatus['state'] = reason === undefined ? 'healthy' : pids.length ? 'unhealthy' : 'stopped';
      return {
        name: s.name,
        state,
        version: s.version,
        address: s.address,
        pids,
        logFiles: own.map((id) => logFileOf(ctx, id)),
        ...(reason === undefined ? {} : { detail: reason }),
        ...(s.details ? await s.details(ctx).catch(() => ({})) : {}),
      };
    }),
  );
}
