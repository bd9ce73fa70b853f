// Where our API's CPU per request goes: the same GET /livez load on our API built up one layer at a time
// (bench/servers/api-layer.ts), and on the community peers in the same run, CPU time per request read from
// /proc — steadier than req/s on a shared machine.
import { runWrk } from '../lib/load.js';
import { type BenchProcess, startBulkStandIn, startNodeServer, startPushTarget } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, type Spread, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const CONNECTIONS = 50;
/** Rounds are summarised as the range of the medians of this many blocks of consecutive rounds. */
const BLOCKS = 3;

/**
 * Median over all rounds, with the range of the medians of BLOCKS blocks of consecutive rounds: on a shared
 * machine a burst of load spoils a round or two, which moves min–max but barely one block's median.
 */
function robust(values: readonly number[]): Spread {
  const all = spread(values);
  if (values.length < 2 * BLOCKS) return all;
  const medians: number[] = [];
  for (let block = 0; block < BLOCKS; block++) {
    const from = Math.floor((block * values.length) / BLOCKS);
    medians.push(spread(values.slice(from, Math.floor(((block + 1) * values.length) / BLOCKS))).median);
  }
  return { ...all, min: Math.min(...medians), max: Math.max(...medians) };
}

export const apiLayersSuite: Suite = {
  name: 'api-layers',
  description:
    'CPU µs per GET /livez as our API gains request id, metrics, ECS access log, shipping, pusher (one layer at a time), everything on with LOG_ACCESS_SKIP_ROUTES=/livez and with one async hook, beside bare Hono, @hono/prometheus, hono-pino, and @hono/prometheus + hono-pino + pino-elasticsearch',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 12);
    const servers: BenchProcess[] = [];
    try {
      const bulk = await startBulkStandIn();
      servers.push(bulk);
      const gateway = await startPushTarget();
      servers.push(gateway);
      const variants: Array<{ name: string; server: BenchProcess }> = [
        { name: 'bare Hono', server: await startNodeServer('bare', 'bench/servers/bare.ts') },
      ];
      const peers: Array<{ name: string; server: BenchProcess }> = [
        { name: '@hono/prometheus', server: await startNodeServer('hono-prometheus', 'bench/servers/hono-prometheus.ts') },
        { name: 'hono-pino (stdout → /dev/null)', server: await startNodeServer('hono-pino', 'bench/servers/hono-pino.ts') },
        {
          name: '@hono/prometheus + hono-pino + pino-elasticsearch',
          server: await startNodeServer('peer-stack', 'bench/servers/hono-pino.ts', {
            env: { BENCH_PEER_STACK: '1', ELASTICSEARCH_URL: bulk.url },
          }),
        },
      ];
      const layerNames = {
        app: 'createApp (request id, routes)',
        metrics: '+ request metrics',
        'access-log': '+ ECS access log (stdout → /dev/null)',
        shipping: '+ log shipping to the _bulk stand-in',
        pusher: '+ collectors and pusher (every 5 s): everything on',
      };
      for (const [layer, name] of Object.entries(layerNames)) {
        variants.push({
          name,
          server: await startNodeServer(`api-layer-${layer}`, 'bench/servers/api-layer.ts', {
            env: { BENCH_LAYER: layer, ELASTICSEARCH_URL: bulk.url, PUSHGATEWAY_URL: gateway.url },
          }),
        });
      }
      const layerCount = variants.length;
      variants.push({
        name: 'everything on, LOG_ACCESS_SKIP_ROUTES=/livez (no access line)',
        server: await startNodeServer('api-layer-skip-livez', 'bench/servers/api-layer.ts', {
          env: { BENCH_LAYER: 'pusher', ELASTICSEARCH_URL: bulk.url, PUSHGATEWAY_URL: gateway.url, LOG_ACCESS_SKIP_ROUTES: '/livez' },
        }),
      });
      variants.push({
        name: 'everything on + one async app.use hook (off the sync path)',
        server: await startNodeServer('api-layer-async-hook', 'bench/servers/api-layer.ts', {
          env: { BENCH_LAYER: 'pusher', ELASTICSEARCH_URL: bulk.url, PUSHGATEWAY_URL: gateway.url, BENCH_ASYNC_HOOK: '1' },
        }),
      });
      variants.push(...peers);
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
      const peerStack = results.get(peers.at(-1)!.name)!;
      const rows = variants.map((variant, index) => {
        const micros = results.get(variant.name)!;
        const previous = index > 0 && index < layerCount ? results.get(variants[index - 1]!.name)! : undefined;
        const isAllOn = index === layerCount - 1;
        return [
          variant.name,
          formatSpread(spread(micros), 1),
          previous ? formatSpread(spread(micros.map((value, round) => value - previous[round]!)), 1) : '',
          formatRatio(robust(pairedRatios(bare, micros)), isAllOn ? { op: '>=', bound: 0.6 } : undefined),
          index === 0 ? '' : formatRatio(robust(pairedRatios(peerStack, micros))),
        ];
      });
      const table: Table = {
        title: `Our API's CPU per request, layer by layer, and the peers: GET /livez, ${CONNECTIONS} connections, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: [
          'server (our layers cumulative, then peers)',
          'CPU µs/request',
          'added by the layer',
          'capacity ÷ bare',
          'capacity ÷ peer stack',
        ],
        rows,
        notes: [
          'CPU time of the server process during the round (/proc user+system) ÷ requests served; capacity = CPU per request of bare (or the peer stack) ÷ this one',
          settings.rounds >= 2 * BLOCKS
            ? `capacity columns: median of the per-round ratios, in brackets the range of the medians of ${BLOCKS} blocks of consecutive rounds (one noisy minute moves one block, not the range); other columns: median (min–max) over rounds`
            : `median (min–max) over rounds; with ${2 * BLOCKS} rounds or more the capacity columns show the range of ${BLOCKS} block medians instead`,
          'the skip row is not a layer: everything on with LOG_ACCESS_SKIP_ROUTES=/livez, the access line left out for /livez (off by default; the target is for the line on)',
          'the hook row is not a layer: everything on plus one pass-through createApp({ middleware }) hook, so Hono composes and /livez leaves the synchronous path that observing around app.fetch keeps',
          'our layers are observed around app.fetch as api/node.ts configures it, without a database (/livez does not use it); the last layer adds the collectors and the pusher to our gateway',
          'peer stack: @hono/prometheus + hono-pino + pino-elasticsearch shipping every line to the same _bulk stand-in (our features, community parts)',
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
    }
  },
};
