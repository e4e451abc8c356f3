import type { StackContext } from './service';
import { goBinary } from './toolchain';
import type { GoBuild } from './toolchain';

/** Helm for the worker chart (deploy/helm/rotor): `helm lint`, `helm template`, installs into the stack. */
export const helmVersion = 'v4.3.2';

/**
 * Helm's CLI built from its Go module (`go install`, no wrapper module: its go.mod has no replace
 * directives), with the version stamped in as its release builds do, so `helm version` tells.
 */
export const helmBuild: GoBuild = {
  name: 'helm',
  version: helmVersion,
  pkg: 'helm.sh/helm/v4/cmd/helm',
  flags: ['-trimpath', '-ldflags', `-s -w -X helm.sh/helm/v4/internal/version.version=${helmVersion}`],
};

/** The cached helm binary, built on first use (about ? min on 2 cores). */
export function helmBinary(ctx: StackContext): Promise<string> {
  return goBinary(ctx, helmBuild);
}
