/**
 * `node --import ./test/helpers/record-loads.ts …`: writes every module the process loads, by URL,
 * one a line, to the file named by ROTOR_RECORD_LOADS when the process exits. Node's synchronous
 * module hooks see each `import` and each `require()` (CommonJS packages such as the Temporal and
 * Kubernetes clients load their files with require), so a package the process touched cannot be
 * missing from the list. Plain TypeScript Node runs without a loader (types stripped).
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env['ROTOR_RECORD_LOADS'];
const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  if (file) writeFileSync(file, [...loaded].join('\n') + '\n');
});
