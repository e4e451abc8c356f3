import { spawn } from 'node:child_process';

/**
 * `rotor …` as an operator runs it, its output to this process's stderr; resolves with its exit
 * code. `tsx`: the CLI's TypeScript through tsx, as without `npm run build:cli`.
 */
export function rotorCli(argv: string[], env: NodeJS.ProcessEnv, tsx: boolean): Promise<number> {
  const entry = tsx ? ['--import', 'tsx', 'cli/main.ts'] : ['cli/rotor.cjs'];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...entry, ...argv], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => resolve(code ?? 1));
  });
}
