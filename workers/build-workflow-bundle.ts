/** `npm run build:workflows -- <out.js>`: writes rotor's workflow bundle for ROTOR_WORKFLOW_BUNDLE. */
import { writeWorkflowBundle } from './bundle';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: npm run build:workflows -- <out-file.js>\n');
  process.exit(2);
}
writeWorkflowBundle(out).then(
  () => process.stdout.write(`workflow bundle written to ${out}; start workers with ROTOR_WORKFLOW_BUNDLE=${out}\n`),
  (e: unknown) => {
    process.stderr.write(`bundling the workflows failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
