// 1. What our instrumentation costs: GET /livez on our API with everything on, against a bare Hono app,
//    the same app with @hono/prometheus, and a naive prom-client + pino middleware; then, on the same instance,
//    the representative route GET /api/users/:id against a bare Hono + Drizzle app (api-route.ts).

import { startPostgres } from '../../test/support/services/postgres.js';
import { type LoadResult, runWrk } from '../lib/load.js';
import { type BenchProcess, LOAD_CPU, pinRunning, settle, startNodeServer } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { measureRepresentativeRoute } from './api-route.js';
import { startOurApi } from './our-api.js';

const CONNECTIONS = 50;

export const apiOverheadSuite: Suite = {
  name: 'api',
  description:
    'GET /livez throughput and latency: our fully instrumented API vs bare Hono, @hono/prometheus, naive prom-client+pino; then the representative route (as api-route)',
  async run(settings, log) {
    const servers: BenchProcess[] = [];
    const stopHelpers: Array<() => Promise<void>> = [];
    try {
      const bare = await startNodeServer('bare', 'bench/servers/bare.ts');
      servers.push(bare);
      const honoPrometheus = await startNodeServer('hono-prometheus', 'bench/servers/hono-prometheus.ts');
      servers.push(honoPrometheus);
      const naive = await startNodeServer('naive', 'bench/servers/naive.ts');
      servers.push(naive);
      const targets: Array<{ name: string; url: string; server: BenchProcess }> = [
        { name: 'bare Hono', url: bare.url, server: bare },
        { name: '@hono/prometheus', url: honoPrometheus.url, server: honoPrometheus },
        { name: 'naive prom-client + pino', url: naive.url, server: naive },
      ];
      const notes: string[] = [];
      let verifyOurs: (() => Promise<void>) | undefined;
      let measureRoute: (() => Promise<Table>) | undefined;
      try {
        const postgres = await startPostgres();
        pinRunning(postgres.pid, LOAD_CPU);
        stopHelpers.push(() => postgres.stop());
        const oursDatabaseUrl = await postgres.createDatabase('api_all_on');
        const ours = await startOurApi({ shipping: true, databaseUrl: oursDatabaseUrl });
        stopHelpers.push(ours.stop);
        const oursNoShipping = await startOurApi({ shipping: false, databaseUrl: await postgres.createDatabase('api_no_shipping') });
        stopHelpers.push(oursNoShipping.stop);
        targets.push(
          { name: 'ours, all on', url: ours.url, server: ours.process },
          { name: 'ours, log shipping off', url: oursNoShipping.url, server: oursNoShipping.process },
        );
        notes.push(ours.describe);
        measureRoute = () => measureRepresentativeRoute({ ours, databaseUrl: oursDatabaseUrl, settings, log });
        verifyOurs = async () => {
          // The pusher pushes every 5 s: wait for one more push so the totals include the last round.
          await new Promise((resolve) => setTimeout(resolve, 6_000));
          const totals = await ours.pushedTotals();
          notes.push(
            `checked after the run, on ours' gateway: http_requests_total ${formatNumber(totals.httpRequests)}, ` +
              `log_events_shipped_total ${formatNumber(totals.logEventsShipped)}, log_events_dropped_total ${formatNumber(totals.logEventsDropped)}` +
              (totals.logEventsShipped === 0 ? ' — NO LOG LINE WAS SHIPPED: the all-on figure does not include shipping' : ''),
          );
        };
      } catch (error) {
        notes.push(`our API could not be started, only the baselines ran: ${error instanceof Error ? error.message : String(error)}`);
        log(notes.at(-1)!);
      }
      for (const target of targets) {
        log(`warming up ${target.name}`);
        await runWrk({ url: `${target.url}/livez`, connections: CONNECTIONS, durationSeconds: settings.warmupSeconds });
      }
      const results = await alternate<LoadResult & { cpuMicrosPerRequest: number }>(
        targets.map((target) => ({
          name: target.name,
          measure: async (round) => {
            const cpuBefore = target.server.cpuSeconds();
            const result = await runWrk({ url: `${target.url}/livez`, connections: CONNECTIONS, durationSeconds: settings.seconds });
            const cpuMicrosPerRequest = ((target.server.cpuSeconds() - cpuBefore) * 1e6) / result.requests;
            await settle(target.server, 5_000);
            log(
              `round ${round + 1} ${target.name}: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${cpuMicrosPerRequest.toFixed(0)} µs CPU/request` +
                (result.errors + result.non2xx ? `, ${result.errors} errors, ${result.non2xx} non-2xx` : ''),
            );
            return { ...result, cpuMicrosPerRequest };
          },
        })),
        settings.rounds,
      );
      await verifyOurs?.();
      const rps = (name: string) => results.get(name)!.map((result) => result.rps);
      // Capacity from CPU cost: bare's CPU per request ÷ this server's. On a machine where other work takes
      // turns on the same core, CPU time per request is far steadier than requests per second.
      const cpu = (name: string) => results.get(name)!.map((run) => run.cpuMicrosPerRequest);
      const rows = targets.map((target) => {
        const runs = results.get(target.name)!;
        const isOursAllOn = target.name === 'ours, all on';
        return [
          target.name,
          formatSpread(spread(runs.map((run) => run.rps))),
          formatSpread(spread(runs.map((run) => run.p50Ms)), 2),
          formatSpread(spread(runs.map((run) => run.p99Ms)), 2),
          formatSpread(spread(cpu(target.name)), 1),
          formatRatio(spread(pairedRatios(rps(target.name), rps('bare Hono'))), isOursAllOn ? { op: '>=', bound: 0.9 } : undefined),
          formatRatio(spread(pairedRatios(cpu('bare Hono'), cpu(target.name))), isOursAllOn ? { op: '>=', bound: 0.9 } : undefined),
          formatRatio(spread(pairedRatios(rps(target.name), rps('@hono/prometheus')))),
        ];
      });
      const failures = targets.flatMap((target) => {
        const bad = results.get(target.name)!.reduce((sum, run) => sum + run.errors + run.non2xx, 0);
        return bad ? [`${target.name}: ${bad} errors or non-2xx responses during measurement`] : [];
      });
      const apiTable: Table = {
        title: `API overhead: GET /livez, ${CONNECTIONS} connections, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s ÷ bare', 'capacity ÷ bare (CPU)', 'req/s ÷ @hono/prometheus'],
        rows,
        notes: [
          'median (min–max) over rounds; ratios are taken per round (variants measured back to back), then summarised',
          "CPU µs/req: CPU time the server process used during the round (/proc, user+system) ÷ requests served; capacity ÷ bare = bare's CPU µs/req ÷ this one's",
          'servers pinned to CPU 1, wrk and helper processes (gateway, _bulk stand-in) to CPU 0',
          ...notes,
          ...failures,
        ],
      };
      if (!results.has('ours, all on') || !measureRoute) return [apiTable];
      const loss = spread(pairedRatios(rps('ours, all on'), rps('ours, log shipping off')).map((ratio) => (1 - ratio) * 100));
      const cpuLoss = spread(pairedRatios(cpu('ours, log shipping off'), cpu('ours, all on')).map((ratio) => (1 - ratio) * 100));
      const lossTable: Table = {
        title: 'API throughput lost to log shipping (ours, all on vs ours with shipping off)',
        columns: ['measured by', 'loss', 'target'],
        rows: [
          ['req/s', formatSpread(loss, 1, ' %'), `< 5 % ${loss.median < 5 ? 'met' : 'MISSED'}`],
          ['CPU µs/request', formatSpread(cpuLoss, 1, ' %'), `< 5 % ${cpuLoss.median < 5 ? 'met' : 'MISSED'}`],
        ],
      };
      return [apiTable, lossTable, await measureRoute()];
    } finally {
      for (const stop of stopHelpers.reverse()) await stop().catch(() => {});
      for (const server of servers) await server.stop();
    }
  },
};
