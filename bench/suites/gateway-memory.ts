// What a stored series costs, beside the official Pushgateway (Debian prometheus-pushgateway 1.5, persistence off):
// idle RSS (with a bare Hono server on the same Node as the floor), bytes of RSS per stored series (RSS at 55k
// series − RSS idle, ÷ 55k), ingest at 55k stored ÷ at 5k, all on one pinned core as the `gateway` suite runs them;
// then how many series one Durable Object holds: our gateway Worker in workerd, its isolate's V8 heap (after a GC,
// read through the inspector) at 0 and at 200k series, against the 128 MB a Durable Object may use.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/services/process.js';
import { API_LIKE_SERIES, apiLikeBody, preloadBody } from '../lib/exposition.js';
import type { LoadResult } from '../lib/load.js';
import { type BenchProcess, repoRoot, settle, startNodeServer } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import {
  CLIENTS,
  fillPushGroups,
  GROUPS,
  ourGatewayFlags,
  type PushTarget,
  pushLoad,
  startOfficialGateway,
  startOurGateway,
} from './gateway.js';

const PRELOAD_GROUPS = 20;
const PRELOAD_SERIES_PER_GROUP = 2_500;
const STORED = GROUPS * API_LIKE_SERIES + PRELOAD_GROUPS * PRELOAD_SERIES_PER_GROUP;
/** A Durable Object may use 128 MB (Cloudflare's Workers limits); its isolate's heap is what counts against it. */
const OBJECT_LIMIT_BYTES = 128 * 1024 * 1024;
const OBJECT_SERIES = 200_000;
const OBJECT_SERIES_PER_PUSH = 20_000;

async function put(url: string, body: string): Promise<void> {
  const response = await fetch(url, { method: 'PUT', body, signal: AbortSignal.timeout(120_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`PUT ${url} → ${response.status}: ${text.slice(0, 300)}`);
}

async function preload(server: BenchProcess, groups: number, seriesPerGroup: number, job = 'preload'): Promise<void> {
  for (let group = 0; group < groups; group++)
    await put(`${server.url}/metrics/job/${job}/instance/p${group}`, preloadBody(seriesPerGroup, group));
}

/** Alternating ingest rounds (as the gateway suite's), failing on any refused push. */
function ingest(targets: PushTarget[], bodyFile: string, seconds: number, rounds: number, label: string, log: (line: string) => void) {
  return alternate<LoadResult>(
    targets.map((target) => ({
      name: target.name,
      measure: async (round) => {
        const result = await pushLoad(target, bodyFile, seconds);
        await settle(target.server);
        log(`${label} round ${round + 1} ${target.name}: ${result.rps.toFixed(0)} pushes/s`);
        if (result.non2xx > 0) throw new Error(`${target.name} refused ${result.non2xx} pushes during the ${label} round`);
        return result;
      },
    })),
    rounds,
  );
}

/** Chrome DevTools Protocol over workerd's inspector: one isolate's heap after a full GC. */
async function isolateHeapBytes(inspectorUrl: string, poke: () => Promise<void>): Promise<number> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${inspectorUrl}`)));
  });
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> };
    if (message.id !== undefined) pending.get(message.id)?.(message.result ?? {});
  });
  let nextId = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params: {} }));
    });
  try {
    await call('HeapProfiler.enable');
    const collected = call('HeapProfiler.collectGarbage');
    // workerd runs the collection when the isolate next takes a request.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await poke();
    await collected;
    return (await call('Runtime.getHeapUsage')).usedSize as number;
  } finally {
    socket.close();
  }
}

async function durableObjectCapacity(log: (line: string) => void): Promise<Table> {
  const inspectorPort = await freePort();
  const worker = await startNodeServer('gateway-worker-memory', 'bench/servers/worker.ts', {
    announcesUrl: true,
    readyPath: '/-/ready',
    readyTimeoutMs: 180_000,
    env: {
      BENCH_WORKER_CONFIG: join(repoRoot, 'pushgateway/wrangler.toml'),
      BENCH_WORKER_BINDINGS: JSON.stringify({ GATEWAY_MAX_SERIES: '0', GATEWAY_MAX_STORED_BYTES: '0', GATEWAY_GROUP_TTL_SECONDS: '0' }),
      BENCH_WORKER_INSPECTOR_PORT: String(inspectorPort),
    },
  });
  try {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
      id: string;
      webSocketDebuggerUrl: string;
    }[];
    const inspector = targets.find((target) => target.id.startsWith('core:user:'))?.webSocketDebuggerUrl;
    if (!inspector) throw new Error(`workerd's inspector lists no user Worker: ${targets.map((target) => target.id).join(', ')}`);
    const poke = async () => void (await (await fetch(`${worker.url}/-/healthy`)).text());
    // One small push first, so the object exists (and its code has run) before the baseline.
    await put(`${worker.url}/metrics/job/warm-up`, 'warm_up 1\n');
    const empty = await isolateHeapBytes(inspector, poke);
    const started = Date.now();
    await preload(worker, OBJECT_SERIES / OBJECT_SERIES_PER_PUSH, OBJECT_SERIES_PER_PUSH, 'object');
    const full = await isolateHeapBytes(inspector, poke);
    log(
      `Durable Object: ${OBJECT_SERIES} series pushed in ${((Date.now() - started) / 1000).toFixed(1)} s; heap ${(empty / 2 ** 20).toFixed(1)} → ${(full / 2 ** 20).toFixed(1)} MiB`,
    );
    const perSeries = (full - empty) / OBJECT_SERIES;
    const capacity = Math.floor((OBJECT_LIMIT_BYTES - empty) / perSeries);
    return {
      title: `A Durable Object's heap: our gateway Worker in workerd, ${OBJECT_SERIES.toLocaleString('en')} series in ${OBJECT_SERIES / OBJECT_SERIES_PER_PUSH} groups`,
      columns: ['measure', 'value'],
      rows: [
        ['isolate heap MiB, one tiny group', formatNumber(empty / 2 ** 20, 1)],
        [`isolate heap MiB at ${OBJECT_SERIES.toLocaleString('en')} series`, formatNumber(full / 2 ** 20, 1)],
        ['heap bytes per stored series', formatNumber(perSeries)],
        [
          'series one object holds within 128 MB',
          `${formatNumber(capacity)} ${capacity >= OBJECT_SERIES ? 'met' : 'MISSED'} (target >= ${OBJECT_SERIES.toLocaleString('en')})`,
        ],
      ],
      notes: [
        'V8 heap of the isolate that runs the Worker and its Durable Object, after a full GC (DevTools protocol: HeapProfiler.collectGarbage, Runtime.getHeapUsage)',
        `series shaped as the Node rows' (bench_preload_total{shard,source}); pushed as PUTs of ${OBJECT_SERIES_PER_PUSH.toLocaleString('en')} series; its SQLite storage is not on the heap`,
      ],
    };
  } finally {
    await worker.stop();
  }
}

export const gatewayMemorySuite: Suite = {
  name: 'gateway-memory',
  description:
    'our gateway vs the official Pushgateway: idle RSS, RSS bytes per stored series, ingest at 55k ÷ 5k; series a Durable Object holds',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const workDir = mkdtempSync(join(tmpdir(), 'bench-gateway-memory-'));
    const servers: BenchProcess[] = [];
    try {
      const body = apiLikeBody();
      const bodyFile = join(workDir, 'push.txt');
      writeFileSync(bodyFile, body);
      const bare = await startNodeServer('bare-hono-idle', 'bench/servers/bare.ts', { nodeArgs: ourGatewayFlags() });
      servers.push(bare);
      const official = await startOfficialGateway();
      servers.push(official);
      const ours = await startOurGateway('gateway-memory-footprint');
      servers.push(ours);
      const targets: PushTarget[] = [
        { name: 'official', server: official, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
        { name: 'ours', server: ours, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
      ];
      for (const server of servers) await settle(server);
      const idle = new Map(servers.map((server) => [server.name, server.rssBytes()]));
      await bare.stop();
      servers.splice(servers.indexOf(bare), 1);

      for (const target of targets) await fillPushGroups(target, body);
      for (const target of targets) await pushLoad(target, bodyFile, settings.warmupSeconds);
      const at5k = await ingest(targets, bodyFile, settings.seconds, settings.rounds, '5k stored', log);
      log(`preloading ${PRELOAD_GROUPS * PRELOAD_SERIES_PER_GROUP} more series into each gateway`);
      for (const target of targets) await preload(target.server, PRELOAD_GROUPS, PRELOAD_SERIES_PER_GROUP);
      for (const target of targets) await settle(target.server);
      const loaded = new Map(targets.map((target) => [target.name, target.server.rssBytes()]));
      const at55k = await ingest(targets, bodyFile, settings.seconds, settings.rounds, '55k stored', log);
      // What an operator sees once pushes went on for a while: ingest rounds end with a settle, so this is idle too.
      const steady = new Map(targets.map((target) => [target.name, target.server.rssBytes()]));
      for (const server of servers.splice(0)) await server.stop();

      const rss = (map: Map<string, number>, name: string) => map.get(name)!;
      const perSeries = (name: string, server: string, at = loaded) => (rss(at, name) - rss(idle, server)) / STORED;
      const rate = (runs: Map<string, LoadResult[]>, name: string) => runs.get(name)!.map((run) => run.rps);
      const mib = (bytes: number) => formatNumber(bytes / 2 ** 20, 1);
      const oursPerSeries = perSeries('ours', ours.name);
      const officialPerSeries = perSeries('official', official.name);
      const idleTarget = 40 * 2 ** 20;
      const nodeTable: Table = {
        title: `Gateway memory on Node: ${STORED.toLocaleString('en')} series stored (${GROUPS} groups × ${API_LIKE_SERIES} + ${PRELOAD_GROUPS} × ${PRELOAD_SERIES_PER_GROUP.toLocaleString('en')}), ingest ${CLIENTS} clients, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['measure', 'official 1.5.1', 'ours (dist/pushgateway/node.js)', 'ours ÷ official'],
        rows: [
          [
            'RSS MiB idle',
            mib(rss(idle, official.name)),
            `${mib(rss(idle, ours.name))} ${rss(idle, ours.name) <= idleTarget ? 'met' : 'MISSED'} (target <= 40); bare Hono, same Node and flags: ${mib(rss(idle, bare.name))}`,
            formatRatio(spread([rss(idle, ours.name) / rss(idle, official.name)])),
          ],
          [`RSS MiB at ${STORED.toLocaleString('en')} series`, mib(rss(loaded, 'official')), mib(rss(loaded, 'ours')), ''],
          [
            'RSS bytes per stored series',
            formatNumber(officialPerSeries),
            formatNumber(oursPerSeries),
            formatRatio(spread([oursPerSeries / officialPerSeries]), { op: '<=', bound: 0.5 }),
          ],
          [
            'RSS bytes per stored series after the ingest rounds at 55k',
            formatNumber(perSeries('official', official.name, steady)),
            formatNumber(perSeries('ours', ours.name, steady)),
            formatRatio(spread([perSeries('ours', ours.name, steady) / perSeries('official', official.name, steady)])),
          ],
          ['pushes/s at 5k stored', formatSpread(spread(rate(at5k, 'official'))), formatSpread(spread(rate(at5k, 'ours'))), ''],
          ['pushes/s at 55k stored', formatSpread(spread(rate(at55k, 'official'))), formatSpread(spread(rate(at55k, 'ours'))), ''],
          [
            'ingest at 55k ÷ at 5k',
            formatRatio(spread(pairedRatios(rate(at55k, 'official'), rate(at5k, 'official')))),
            formatRatio(spread(pairedRatios(rate(at55k, 'ours'), rate(at5k, 'ours'))), { op: '>=', bound: 0.8 }),
            '',
          ],
        ],
        notes: [
          'RSS from /proc after the process went idle (settle); per series = (RSS at 55k − RSS idle) ÷ 55k, once right after loading and once after the ingest rounds at 55k',
          `our V8 flags: ${ourGatewayFlags().join(' ') || '(none)'}; waiting longer changes nothing: over 40 s idle RSS stayed flat, V8's memory reducer never ran (--trace-memory-reducer: "high alloc" on every tick)`,
          `each gateway pinned to one core (CPU 1), pushes from wrk on CPU 0 (${API_LIKE_SERIES}-series PUT bodies into ${GROUPS} groups), as in the gateway suite`,
        ],
      };
      return [nodeTable, await durableObjectCapacity(log)];
    } finally {
      for (const server of servers) await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
