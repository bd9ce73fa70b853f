// `npm run bench [-- suite…]`: runs the benchmark suites and prints tables of ratios.
//   npm run bench                 all suites (≈ 8 min on 2 cores)
//   npm run bench -- api gateway  chosen suites (gateway-memory, large-push, workers-api: our API Worker vs bare Hono…)
//   npm run bench -- --list       names and descriptions
//   BENCH_QUICK=1 npm run bench   smoke run: 2 short rounds, smaller stores
// BENCH_ROUNDS / BENCH_SECONDS override rounds and seconds per measurement. A suite is not started once
// BENCH_BUDGET_SECONDS (default 540) have passed, so a run on a busy machine still ends near 10 minutes.
// Results also go to bench/results/latest.md (Markdown, for bench/README.md) and latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot, stopAll } from './lib/processes.js';
import { renderMarkdown, renderText, type Table } from './lib/report.js';
import { settingsFromEnv } from './lib/rounds.js';
import type { Suite } from './lib/suite.js';
import { apiLayersSuite } from './suites/api-layers.js';
import { apiOverheadSuite } from './suites/api-overhead.js';
import { apiRouteSuite } from './suites/api-route.js';
import { gatewaySuite } from './suites/gateway.js';
import { gatewayLargePushSuite } from './suites/gateway-large-push.js';
import { gatewayMemorySuite } from './suites/gateway-memory.js';
import { gatewayRedisSuite } from './suites/gateway-redis.js';
import { gatewayRemoteWriteSuite } from './suites/gateway-remote-write.js';
import { gatewayWorkersSuite } from './suites/gateway-workers.js';
import { logShippingSuite } from './suites/log-shipping.js';
import { queryTimingSuite } from './suites/query-timing.js';
import { workersApiSuite } from './suites/workers-api.js';

// Targets first, references last: if the time budget runs out, it is the references that are skipped.
const suites: Suite[] = [
  apiOverheadSuite,
  gatewaySuite,
  gatewayMemorySuite,
  logShippingSuite,
  queryTimingSuite,
  gatewayRedisSuite,
  gatewayRemoteWriteSuite,
  gatewayWorkersSuite,
  gatewayLargePushSuite,
  apiLayersSuite,
  apiRouteSuite,
  workersApiSuite,
];

function usage(): string {
  return [
    'usage: npm run bench [-- <suite>…] [--list]',
    'suites:',
    ...suites.map((suite) => `  ${suite.name.padEnd(10)} ${suite.description}`),
  ].join('\n');
}

function machine(): string {
  const [one, five, fifteen] = loadavg().map((value) => value.toFixed(2));
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load average ${one} / ${five} / ${fifteen}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--list') || args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const unknown = args.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const chosen = args.length === 0 ? suites.filter((suite) => !suite.partOf) : suites.filter((suite) => args.includes(suite.name));
  const settings = settingsFromEnv();
  const startedAt = new Date();
  const before = machine();
  console.log(
    `bench: ${chosen.map((suite) => suite.name).join(', ')}; ${settings.rounds} rounds × ${settings.seconds} s${settings.quick ? ' (quick)' : ''}`,
  );
  console.log(`machine: ${before}`);

  const tables: Table[] = [];
  const failures: string[] = [];
  const budgetSeconds = Number(process.env.BENCH_BUDGET_SECONDS ?? 540);
  for (const suite of chosen) {
    const suiteStart = Date.now();
    if ((suiteStart - startedAt.getTime()) / 1000 > budgetSeconds) {
      failures.push(`${suite.name}: not run, the ${budgetSeconds} s budget (BENCH_BUDGET_SECONDS) was spent`);
      console.error(`\n-- suite ${suite.name} skipped: over the ${budgetSeconds} s budget`);
      continue;
    }
    console.log(`\n-- suite ${suite.name}`);
    try {
      const produced = await suite.run(settings, (line) => console.log(`   ${line}`));
      tables.push(...produced);
      for (const table of produced) console.log(renderText(table));
    } catch (error) {
      failures.push(`${suite.name}: ${error instanceof Error ? error.message : String(error)}`);
      console.error(`suite ${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      await stopAll();
    }
    console.log(`   (${suite.name} took ${Math.round((Date.now() - suiteStart) / 1000)} s)`);
  }

  const after = machine();
  const elapsed = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const header = [
    `Run ${startedAt.toISOString()} (${elapsed} s), \`${['npm run bench', ...(args.length ? ['--', ...args] : [])].join(' ')}\`${settings.quick ? ' with BENCH_QUICK=1' : ''}, ${settings.rounds} rounds × ${settings.seconds} s.`,
    '',
    `Machine at start: ${before}.`,
    `At end: ${after}.`,
  ];
  const markdown = [
    ...header,
    '',
    ...tables.map(renderMarkdown).flatMap((block) => [block, '']),
    ...failures.map((failure) => `**Failed:** ${failure}`),
  ].join('\n');
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.md'), `${markdown}\n`);
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify({ startedAt, elapsedSeconds: elapsed, settings, machine: { before, after }, tables, failures }, null, 2)}\n`,
  );
  console.log(`\nbench finished in ${elapsed} s; Markdown in bench/results/latest.md`);
  if (failures.length) console.error(`failed suites:\n  ${failures.join('\n  ')}`);
  return failures.length ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping servers`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    console.error(error);
    await stopAll();
    process.exit(1);
  });
