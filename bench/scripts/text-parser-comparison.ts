// Evidence for the parser decision in pushgateway/README.md ("Parser decision"): our text parser vs the
// npm parse-prometheus-text-format 1.1.1, on accept/refuse verdicts the parity suite checks against the
// official gateway and on speed. Not a suite of `npm run bench` (the library is not a dependency); run it by hand:
//   npm install --no-save --prefix /tmp/parsebench parse-prometheus-text-format@1.1.1
//   npx tsx bench/scripts/text-parser-comparison.ts      (PARSER_LIB_DIR=<prefix> for another install folder)
import { createRequire } from 'node:module';
import { parseTextExposition } from '../../pushgateway/core/text-parser.js';

const require = createRequire(import.meta.url);
const libraryDir = process.env.PARSER_LIB_DIR ?? '/tmp/parsebench';
const lib = require(`${libraryDir}/node_modules/parse-prometheus-text-format`) as (text: string) => unknown;
// [body, official gateway accepts?]
const cases: Array<[string, boolean]> = [
  ['a 1', false],
  ['a 1\r\n', false],
  ['a 1 \n', false],
  ['a 0x10\n', false],
  ['a 1_000\n', false],
  ['a{b="1",b="2"} 1\n', false],
  ['# TYPE a foo\na 1\n', false],
  ['a 1\n# TYPE a gauge\n', false],
  ['# HELP a x\n# HELP a y\na 1\n', false],
  ['b{l="a\\tb"} 1\n', false],
  ['b{l=a} 1\n', false],
  ['b{l="a" x="b"} 1\n', false],
  ['{l="a"} 1\n', false],
  ['# TYPE h histogram\nh_bucket{le="x"} 1\n', false],
  ['garbage line here\n', false],
  ['b{__name__="a"} 1\n', false],
  ['x_total 1 1234\n', true /* parses; refused later as timestamped */],
  ['e{v="q\\"uo\\\\te\\nnl"} +Inf\ne{v="2"} NaN\n', true],
  ['z { a = "1" , } 1\n', true],
  ['#TYPE d gauge\nd 1\n', true],
  ['inf_val Inf\n', true],
  ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n', true],
];
function verdict(parse: (text: string) => unknown, body: string): boolean {
  try {
    parse(body);
    return true;
  } catch {
    return false;
  }
}
let oursRight = 0,
  libRight = 0;
const libWrong: string[] = [];
for (const [body, accepted] of cases) {
  if (verdict(parseTextExposition, body) === accepted) oursRight++;
  if (verdict(lib, body) === accepted) libRight++;
  else libWrong.push(JSON.stringify(body));
}
console.log(`agreement with the official gateway on ${cases.length} cases: ours ${oursRight}, parse-prometheus-text-format ${libRight}`);
console.log('library disagrees on:', libWrong.join('  '));
const ts = lib('x_total 1 1234\n');
console.log('library on a timestamped sample:', JSON.stringify(ts));
console.log('library on NaN/+Inf values:', JSON.stringify((lib('e 1\nf +Inf\n') as unknown[])[1]));

// Speed: a prom-client-like body with 5000 series (counters + histograms).
let body = '# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n';
for (let i = 0; i < 2500; i++) body += `http_requests_total{method="GET",endpoint="/api/users/${i}",status="200"} ${i * 3}\n`;
body += '# HELP lat Latency.\n# TYPE lat histogram\n';
for (let i = 0; i < 250; i++) {
  for (const le of ['0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf']) body += `lat_bucket{endpoint="/e/${i}",le="${le}"} ${i}\n`;
  body += `lat_sum{endpoint="/e/${i}"} 1.5\nlat_count{endpoint="/e/${i}"} ${i}\n`;
}
const lines = body.split('\n').length - 1;
function time(name: string, fn: () => unknown) {
  for (let i = 0; i < 20; i++) fn();
  const n = 100;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / n;
  console.log(`${name}: ${ms.toFixed(2)} ms per ${lines}-line body (${(body.length / 1024).toFixed(0)} KiB)`);
  return ms;
}
const a = time('ours', () => parseTextExposition(body));
const b = time('parse-prometheus-text-format', () => lib(body));
console.log(`ratio library/ours: ${(b / a).toFixed(2)}x`);
