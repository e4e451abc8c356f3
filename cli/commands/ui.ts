import { Command } from 'commander';
import { uiListLink } from '../../adapters/temporal/connection';
import { rotationViews } from '../../core/ui-views';
import { ExitCode } from '../exit-codes';
import { jsonLine, out } from '../output';
import { runAction } from './run';

/** `rotor ui [--secret s] [--json]`: Temporal UI links to the operator's views, rotations only. */
export function uiCommand(): Command {
  return new Command('ui')
    .description(
      "Temporal UI links: all rotations, running, needs attention, rolled back today, and one secret's history",
    )
    .option('--secret <name>', "add the link to this secret's rotation history")
    .option('--json', 'one JSON line per view')
    .action(
      runAction((opts: { secret?: string; json?: boolean }) => {
        for (const v of rotationViews(new Date(), opts.secret)) {
          const link = uiListLink(v.query);
          if (opts.json) jsonLine({ view: v.name, description: v.description, query: v.query, link });
          else out(`${v.name.padEnd(16)} ${v.description}\n  ${link}`);
        }
        return Promise.resolve(ExitCode.ok);
      }),
    );
}
