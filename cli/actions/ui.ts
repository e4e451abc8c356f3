import { uiListLink } from '../../adapters/temporal/connection';
import { rotationViews } from '../../core/ui-views';
import { ExitCode } from '../exit-codes';
import { jsonLine, out } from '../output';

/** `rotor ui`: Temporal UI links to the operator's views, rotations only. */
export function ui(opts: { secret?: string; json?: boolean }): Promise<ExitCode> {
  for (const v of rotationViews(new Date(), opts.secret)) {
    const link = uiListLink(v.query);
    if (opts.json) jsonLine({ view: v.name, description: v.description, query: v.query, link });
    else out(`${v.name.padEnd(16)} ${v.description}\n  ${link}`);
  }
  return Promise.resolve(ExitCode.ok);
}
