/**
 * A `node --import` module hook (inline, so it costs nothing measurable) that ends the process, exit
 * 0, the moment it first asks for a Temporal package (in the built CLI, dist/cli/temporal.cjs): a
 * command such as `rotor status` runs up to its first Temporal call and needs no server. Used by the
 * CLI-start benchmark and the playbook-cache test.
 */
export const exitAtTemporal = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module';" +
    "registerHooks({ resolve(s, c, next) { if (s.startsWith('@temporalio/') || s === './temporal.cjs') process.exit(0); return next(s, c); } });",
)}`;
