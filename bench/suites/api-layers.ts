// Where our API's CPU per request goes: the same GET /livez load on our API built up one layer at a time
// (bench/servers/api-layer.ts), CPU time per request read from /proc — steadier than req/s on a shared machine.
import { runWrk } from '../lib/load.js';
import { LOAD_CPU, startNodeServer, type BenchProcess } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const CONNECTIONS = 50;

export const apiLayersSuite: Suite = {
  name: 'api-layers',
  description: 'reference: CPU µs per GET /livez as our API gains request id, metrics, ECS access log, shipping (one layer at a time)',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const servers: BenchProcess[] = [];
    try {
      const bulk = await startNodeServer('elasticsearch-bulk', 'bench/servers/elasticsearch-bulk.ts', {
        readyPath: '/',
        cpu: LOAD_CPU,
        announcesUrl: true,
      });
      servers.push(bulk);
      const variants: Array<{ name: string; server: BenchProcess }> = [
        { name: 'bare Hono', server: await startNodeServer('bare', 'bench/servers/bare.ts') },
      ];
      const layerNames = {
        app: 'createApp (request id, routes)',
        metrics: '+ request metrics',
        'access-log': '+ ECS access log (stdout → /dev/null)',
        shipping: '+ log shipping to the _bulk stand-in',
      };
      for (const [layer, name] of Object.entries(layerNames)) {
        variants.push({
          name,
          server: await startNodeServer(`api-layer-${layer}`, 'bench/servers/api-layer.ts', {
            env: { BENCH_LAYER: layer, ELASTICSEARCH_URL: bulk.url },
          }),
        });
      }
      servers.push(...variants.map((variant) => variant.server));
      for (const variant of variants)
        await runWrk({ url: `${variant.server.url}/livez`, connections: CONNECTIONS, durationSeconds: settings.warmupSeconds });
      const results = await alternate<number>(
        variants.map((variant) => ({
          name: variant.name,
          measure: async (round) => {
            const before = variant.server.cpuSeconds();
            const result = await runWrk({
              url: `${variant.server.url}/livez`,
              connections: CONNECTIONS,
              durationSeconds: settings.seconds,
            });
            const micros = ((variant.server.cpuSeconds() - before) * 1e6) / result.requests;
            log(`round ${round + 1} ${variant.name}: ${micros.toFixed(0)} µs CPU/request (${Math.round(result.rps)} req/s)`);
            return micros;
          },
        })),
        settings.rounds,
      );
      const bare = results.get('bare Hono')!;
      const rows = variants.map((variant, index) => {
        const micros = results.get(variant.name)!;
        const previous = index > 0 ? results.get(variants[index - 1]!.name)! : undefined;
        return [
          variant.name,
          formatSpread(spread(micros), 1),
          previous ? formatSpread(spread(micros.map((value, round) => value - previous[round]!)), 1) : '',
          formatRatio(spread(pairedRatios(bare, micros))),
        ];
      });
      const table: Table = {
        title: `Our API's CPU per request, layer by layer: GET /livez, ${CONNECTIONS} connections, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['server (layers cumulative)', 'CPU µs/request', 'added by the layer', 'capacity ÷ bare'],
        rows,
        notes: [
          'CPU time of the server process during the round (/proc user+system) ÷ requests served; no pusher, collectors or database in these servers',
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
    }
  },
};
