// `npm run check:monitoring`: every static check of the monitoring stack, with the failing output.
import { runAllChecks } from './static-checks.js';

const results = await runAllChecks();
for (const result of results) {
  console.log(`${result.ok ? 'ok  ' : 'FAIL'}  ${result.name}`);
  if (!result.ok) console.log(result.output.replace(/^/gm, '      '));
}
const failed = results.filter((result) => !result.ok).length;
console.log(failed ? `\n${failed} of ${results.length} checks failed` : `\nall ${results.length} checks passed`);
process.exitCode = failed ? 1 : 0;
