import type { StackPaths } from './config';

/** What `dev/stack status --json` reports per service. */
export interface ServiceStatus {
  name: string;
  state: 'healthy' | 'unhealthy' | 'stopped';
  version: string;
  address: string;
  pids: number[];
  logFiles: string[];
  detail?: string;
  /** Per-cluster node states (`node` service): `Ready`, `NotReady: <why>`, `missing`. */
  nodes?: { cluster: string; node: string; state: string }[];
}

export interface StackContext {
  paths: StackPaths;
  /** Progress lines for the operator; never secrets. */
  log: (line: string) => void;
}

/**
 * One service of the local stack. `install` builds or fetches into the version-keyed cache and
 * is a no-op when the cached binary exists; `start` launches detached processes through
 * `startProcess` (which records their pids) and must be idempotent; `health` answers quickly
 * with `undefined` when healthy or a reason when not.
 */
export interface StackService {
  name: string;
  version: string;
  /** Names of services that must be healthy before this one starts. */
  dependsOn: string[];
  address: string;
  /**
   * An optional service is left out of `up` and `status` unless enabled: by the environment
   * variable `enabledBy` set to `1`, by a flag of `up`, or by naming it (`dev/stack up <name>`).
   * `status` also lists it while it has processes.
   */
  optional?: { enabledBy: string };
  install(ctx: StackContext): Promise<void>;
  start(ctx: StackContext): Promise<void>;
  health(ctx: StackContext): Promise<string | undefined>;
  /** Runs before `down` stops the service's processes (e.g. deleting pods while kubelets still run). */
  stop?(ctx: StackContext): Promise<void>;
  /** Extra fields for `status --json`. */
  details?(ctx: StackContext): Promise<Pick<ServiceStatus, 'nodes'>>;
}
