/**
 * CLI start benchmark (a script, not a test): `npm run bench:cli-start -- [--runs 10]`. Builds the
 * CLI (`npm run build:cli`), then runs each case and a bare `node -e 0` in turn, A B A B …, and
 * prints per case the median wall time of each and the median of the pair-by-pair ratios (pairing
 * keeps the ratio meaningful when a shared machine's load drifts). Whole processes, from spawn to
 * exit. Cases: `rotor --help`; `rotor validate <playbook>`; `rotor status` to its first Temporal
 * call (`exitAtTemporal` ends it there); `rotor status` whole, against the stack's Temporal; and
 * loading the Temporal client alone, the floor of any command that talks to Temporal (as the built
 * CLI loads it, and from node_modules).
 * The first run of each case is a warm-up, not counted (it fills Node's compile cache, the built
 * CLI's own code cache, and the user's cache of playbook outcomes, cli/playbook-cache.ts; with
 * ROTOR_PLAYBOOK_CACHE=off every run validates its playbooks).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { useStackEnv } from '../helpers/stack-env';
import { exitAtTemporal } from '../../dev/exit-at-temporal';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(args.runs);
const node = process.execPath;
const rotor = ['cli/rotor.cjs'];

const cases: { name: string; argv: string[] }[] = [
  { name: 'rotor --help', argv: [...rotor, '--help'] },
  {
    name: 'rotor validate playbooks/demo-three-clusters.yaml',
    argv: [...rotor, 'validate', 'playbooks/demo-three-clusters.yaml'],
  },
  {
    name: 'rotor status, to its first Temporal call',
    argv: ['--import', exitAtTemporal, ...rotor, 'status'],
  },
  { name: 'rotor status, whole (stack Temporal)', argv: [...rotor, 'status'] },
  {
    // As the built CLI loads it: the Temporal bundle, through its code cache (dev/build-cli.ts).
    name: 'the Temporal client alone (dist/cli/temporal.cjs)',
    argv: ['-e', "require('./dist/cli/temporal.cjs')('@temporalio/client')"],
  },
  {
    name: "require('@temporalio/client') from node_modules",
    argv: ['-e', "require('node:module').enableCompileCache(); require('@temporalio/client')"],
  },
];

/** Milliseconds from spawn to exit; a run that fails (no stack for `status`) ends that case. */
function wall(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(node, argv, { stdio: 'ignore', env: process.env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`exit ${r.status}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

useStackEnv();
execFileSync(node, ['--import', 'tsx', 'dev/build-cli.ts'], { stdio: 'inherit' });
process.stdout.write(
  `${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${runs} runs each, Node ${process.version}\n\n`,
);
process.stdout.write('| command | median wall | node -e 0 | ratio (median of pairs) |\n|---|---|---|---|\n');
for (const c of cases) {
  const a: number[] = [];
  const b: number[] = [];
  try {
    wall(c.argv);
    for (let i = 0; i < runs; i++) {
      a.push(wall(c.argv));
      b.push(wall(['-e', '0']));
    }
  } catch (e) {
    process.stdout.write(`| ${c.name} | failed: ${e instanceof Error ? e.message : String(e)} | | |\n`);
    continue;
  }
  const ratio = median(a.map((x, i) => x / (b[i] ?? 1)));
  process.stdout.write(
    `| ${c.name} | ${median(a).toFixed(0)} ms | ${median(b).toFixed(0)} ms | ${ratio.toFixed(1)}× |\n`,
  );
}
