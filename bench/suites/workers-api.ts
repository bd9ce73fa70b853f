// Our API Worker's CPU per request in workerd with observability and log shipping on, against a bare Hono
// Worker: the CPU time of the workerd process itself (/proc, user + system) during each round ÷ requests served.
// Both are bundled by wrangler and run by Miniflare (bench/servers/worker.ts), pinned to CPU 1; wrk hits
// workerd's own socket. The gateway and the `_bulk` stand-in our Worker sends to run on CPU 0.

import { join } from 'node:path';
import { runWrk } from '../lib/load.js';
import {
  type BenchProcess,
  childPidsNamed,
  cpuSecondsOf,
  repoRoot,
  settle,
  startBulkStandIn,
  startNodeServer,
  startPushTarget,
} from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { sumOf } from './our-api.js';

const CONNECTIONS = 32;
const TARGET_RATIO = 1.3;

interface WorkerVariant {
  name: string;
  /** SERVICE_NAME, so its pushes are told apart on the shared gateway. */
  job?: string;
  config: string;
  bindings: Record<string, string>;
}

interface RunningVariant extends WorkerVariant {
  host: BenchProcess;
  workerdPid: number;
  requests: number;
}

interface Round {
  workerdMicros: number;
  hostMicros: number;
  rps: number;
}

export const workersApiSuite: Suite = {
  name: 'workers-api',
  description:
    'workerd CPU µs per GET /livez: our API Worker with metrics pushed and logs shipped (batched per isolate) vs a bare Hono Worker',
  async run(settings, log) {
    const servers: BenchProcess[] = [];
    try {
      const bulk = await startBulkStandIn();
      servers.push(bulk);
      const gateway = await startPushTarget();
      servers.push(gateway);
      // /livez never opens the database; the Worker only insists that one is configured.
      const api = { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/unused', LOG_LEVEL: 'info' };
      const shipping = { ...api, PUSHGATEWAY_URL: gateway.url, ELASTICSEARCH_URL: bulk.url };
      const definitions: WorkerVariant[] = [
        { name: 'bare Hono Worker', config: 'bench/servers/bare-worker.toml', bindings: {} },
        {
          name: 'ours, everything on (push ≤ 5 s, bulk ≤ 1 s or 2 MiB; console: warn and worse)',
          job: 'api-all-on',
          config: 'wrangler.toml',
          bindings: { ...shipping, SERVICE_NAME: 'api-all-on' },
        },
        {
          name: 'ours, everything on + every line on the console too (LOG_CONSOLE_LEVEL=info)',
          job: 'api-console',
          config: 'wrangler.toml',
          bindings: { ...shipping, SERVICE_NAME: 'api-console', LOG_CONSOLE_LEVEL: 'info' },
        },
        {
          name: 'ours, everything on, short windows (push ≤ 100 ms, bulk ≤ 10 ms or 4 KiB)',
          job: 'api-short-windows',
          config: 'wrangler.toml',
          bindings: {
            ...shipping,
            SERVICE_NAME: 'api-short-windows',
            PUSH_INTERVAL_MS: '100',
            LOG_FLUSH_INTERVAL_MS: '10',
            LOG_BATCH_MAX_BYTES: '4096',
          },
        },
        {
          name: 'ours, app only: no push, no shipping, no access line (LOG_LEVEL=warn)',
          config: 'wrangler.toml',
          bindings: { ...api, LOG_LEVEL: 'warn' },
        },
      ];
      const variants: RunningVariant[] = [];
      for (const definition of definitions) {
        log(`bundling and starting ${definition.config} in workerd: ${definition.name}`);
        const host = await startNodeServer(`worker-${variants.length}`, 'bench/servers/worker.ts', {
          announcesUrl: true,
          readyPath: '/livez',
          readyTimeoutMs: 180_000,
          env: { BENCH_WORKER_CONFIG: join(repoRoot, definition.config), BENCH_WORKER_BINDINGS: JSON.stringify(definition.bindings) },
        });
        servers.push(host);
        const [workerdPid, ...others] = childPidsNamed(host.pid, 'workerd');
        if (workerdPid === undefined || others.length > 0)
          throw new Error(`expected one workerd child of ${host.pid}, found ${others.length + (workerdPid ? 1 : 0)}`);
        variants.push({ ...definition, host, workerdPid, requests: 0 });
      }
      const load = async (variant: RunningVariant, seconds: number) => {
        const result = await runWrk({ url: `${variant.host.url}/livez`, connections: CONNECTIONS, durationSeconds: seconds });
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${variant.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        variant.requests += result.requests;
        return result;
      };
      for (const variant of variants) await load(variant, settings.warmupSeconds);

      const results = await alternate<Round>(
        variants.map((variant) => ({
          name: variant.name,
          measure: async (round) => {
            // The previous variant's windows may still be flushing on the other core; this one starts idle.
            await settle({ cpuSeconds: () => cpuSecondsOf(variant.workerdPid) }, 10_000);
            const workerdBefore = cpuSecondsOf(variant.workerdPid);
            const hostBefore = variant.host.cpuSeconds();
            const result = await load(variant, settings.seconds);
            const workerdMicros = ((cpuSecondsOf(variant.workerdPid) - workerdBefore) * 1e6) / result.requests;
            const hostMicros = ((variant.host.cpuSeconds() - hostBefore) * 1e6) / result.requests;
            log(`round ${round + 1} ${variant.name}: workerd ${workerdMicros.toFixed(0)} µs CPU/request (${Math.round(result.rps)} req/s)`);
            return { workerdMicros, hostMicros, rps: result.rps };
          },
        })),
        settings.rounds,
      );

      // Every window closes within 5 s of its first request; then what was pushed and shipped is complete.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      const exposition = await (await fetch(`${gateway.url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
      const checks = variants
        .filter((variant) => variant.job)
        .map((variant) => {
          const counted = sumOf(exposition, 'http_requests_total', variant.job);
          const shipped = sumOf(exposition, 'log_events_shipped_total', variant.job);
          const dropped = sumOf(exposition, 'log_events_dropped_total', variant.job);
          const lost = counted < variant.requests || shipped < variant.requests ? ' — FEWER THAN SERVED' : '';
          return `${variant.job}: wrk saw ${formatNumber(variant.requests)} responses; the gateway counted ${formatNumber(counted)} requests, ${formatNumber(shipped)} lines shipped, ${formatNumber(dropped)} dropped${lost}`;
        });

      const micros = (name: string) => results.get(name)!.map((round) => round.workerdMicros);
      const bare = micros(variants[0]!.name);
      const allOn = variants[1]!.name;
      const table: Table = {
        title: `Our API Worker vs a bare Hono Worker in workerd: GET /livez, ${CONNECTIONS} connections, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['Worker', 'workerd CPU µs/request', 'req/s', 'CPU ÷ bare', 'Miniflare host CPU µs/request'],
        rows: variants.map((variant, index) => [
          variant.name,
          formatSpread(spread(micros(variant.name)), 1),
          formatSpread(spread(results.get(variant.name)!.map((round) => round.rps))),
          index === 0
            ? ''
            : formatRatio(
                spread(pairedRatios(micros(variant.name), bare)),
                variant.name === allOn ? { op: '<=', bound: TARGET_RATIO } : undefined,
              ),
          formatSpread(spread(results.get(variant.name)!.map((round) => round.hostMicros)), 1),
        ]),
        notes: [
          'CPU time of the workerd process (/proc/<pid>/stat user + system, all its threads) during the round ÷ requests wrk completed; ratios per round, then median (min–max)',
          'each Worker bundled by wrangler deploy --dry-run and run by Miniflare in its own workerd, pinned to CPU 1; wrk, the gateway and the _bulk stand-in on CPU 0',
          'ours: api/worker.ts (no database on /livez), request metrics pushed to our Node gateway, one ECS access line per request shipped to the _bulk stand-in; the Miniflare host (Node) reads what workerd prints to its console',
          `checked after the run: ${checks.join('; ')}`,
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
    }
  },
};
