// 2. Our gateway against the official Pushgateway (Debian prometheus-pushgateway 1.5, persistence off):
//    push ingest with 16 clients into 100 groups at 5k and 55k stored series, /metrics scrape time and
//    size at 50k stored, RSS after loading. Both run pinned to the same single core. Then OTLP ingest beside
//    Pushgateway-protocol ingest (gateway-otlp.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayNodeFlags } from '../../build.js';
import { requireBinary } from '../../test/support/services/process.js';
import { API_LIKE_SERIES, apiLikeBody, preloadBody } from '../lib/exposition.js';
import { type LoadResult, runWrk, type TimedFetch, timeRequests } from '../lib/load.js';
import { type BenchProcess, SERVER_CPU, settle, startNodeServer, startProcess } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds, type BenchSettings } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { nativeMergeTables } from './gateway-native.js';
import { otlpIngest } from './gateway-otlp.js';

export const CLIENTS = 16;
export const GROUPS = 100;
const PRELOAD_GROUPS = 20;
const PRELOAD_SERIES_PER_GROUP = 2_500;

export interface PushTarget {
  name: string;
  server: BenchProcess;
  /** URL prefix of the pushes, before /instance/i<n>. */
  prefix: string;
  method: 'PUT' | 'POST';
  idempotency: boolean;
}

export function startOfficialGateway(): Promise<BenchProcess> {
  const binary = requireBinary(['/usr/bin/prometheus-pushgateway'], 'prometheus-pushgateway');
  return startProcess({
    name: 'official-pushgateway',
    command: binary,
    args: (port) => [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'],
    readyPath: '/-/ready',
    cpu: process.env.BENCH_OFFICIAL_CPU ?? SERVER_CPU,
  });
}

/**
 * The gateway's V8 flags, or `BENCH_GATEWAY_FLAGS` (space-separated; empty for none) to bench other flags
 * against the same official run, e.g. `BENCH_GATEWAY_FLAGS=--max-semi-space-size=1 npm run bench -- gateway-memory`.
 */
export function ourGatewayFlags(): string[] {
  const override = process.env.BENCH_GATEWAY_FLAGS;
  return override === undefined ? gatewayNodeFlags : override.split(' ').filter(Boolean);
}

/** Our gateway as production runs it: `npm run gateway`'s compiled dist/pushgateway/node.js on plain node, its flags. */
export function startOurGateway(name: string, env: Record<string, string> = {}, cpu?: string): Promise<BenchProcess> {
  return startNodeServer(name, 'pushgateway/node.ts', {
    nodeArgs: ourGatewayFlags(),
    portEnv: ['GATEWAY_PORT'],
    readyPath: '/-/ready',
    ...(cpu === undefined ? {} : { cpu }),
    env: { GATEWAY_HOST: '127.0.0.1', GATEWAY_MAX_SERIES: '10000000', GATEWAY_GROUP_TTL_SECONDS: '0', ...env },
  });
}

async function send(method: string, url: string, body?: string): Promise<void> {
  const response = await fetch(url, {
    method,
    body,
    headers: body ? { 'content-type': 'text/plain; version=0.0.4' } : {},
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${text.slice(0, 300)}`);
}

/** Fills the 100 push groups once, so "5k stored" holds from the first measured push. */
export async function fillPushGroups(target: PushTarget, body: string): Promise<void> {
  for (let group = 0; group < GROUPS; group++) await send(target.method, `${target.server.url}${target.prefix}/instance/i${group}`, body);
}

async function preload(server: BenchProcess): Promise<void> {
  for (let group = 0; group < PRELOAD_GROUPS; group++) {
    await send('PUT', `${server.url}/metrics/job/preload/instance/p${group}`, preloadBody(PRELOAD_SERIES_PER_GROUP, group));
  }
}

export function pushLoad(
  target: PushTarget,
  bodyFile: string,
  seconds: number,
  {
    connections = CLIENTS,
    groups = GROUPS,
    contentType,
  }: { connections?: number; groups?: number /** BENCH_CONTENT_TYPE: text 0.0.4 unless given */; contentType?: string } = {},
): Promise<LoadResult> {
  return runWrk({
    url: `${target.server.url}/`,
    connections,
    durationSeconds: seconds,
    script: 'push.lua',
    env: {
      BENCH_BODY_FILE: bodyFile,
      BENCH_GROUPS: String(groups),
      BENCH_PATH_PREFIX: target.prefix,
      BENCH_METHOD: target.method,
      BENCH_IDEMPOTENCY: target.idempotency ? '1' : '0',
      ...(contentType ? { BENCH_CONTENT_TYPE: contentType } : {}),
    },
  });
}

export async function ingestRounds(
  targets: PushTarget[],
  bodyFile: string,
  settings: BenchSettings,
  label: string,
  log: (line: string) => void,
) {
  return alternate<LoadResult>(
    targets.map((target) => ({
      name: target.name,
      measure: async (round) => {
        const result = await pushLoad(target, bodyFile, settings.seconds);
        await settle(target.server);
        log(
          `${label} round ${round + 1} ${target.name}: ${result.rps.toFixed(0)} pushes/s, p99 ${result.p99Ms.toFixed(1)} ms${result.errors + result.non2xx ? `, ${result.errors} errors, ${result.non2xx} non-2xx` : ''}`,
        );
        if (result.non2xx > 0) throw new Error(`${target.name} refused ${result.non2xx} pushes during the ${label} round`);
        return result;
      },
    })),
    settings.rounds,
  );
}

export const gatewaySuite: Suite = {
  name: 'gateway',
  description: 'our gateway vs the official Pushgateway: push ingest at 5k/55k stored, /metrics scrape at 50k, RSS; OTLP ingest points/s',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const workDir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
    const servers: BenchProcess[] = [];
    try {
      const body = apiLikeBody();
      const bodyFile = join(workDir, 'push.txt');
      writeFileSync(bodyFile, body);

      const official = await startOfficialGateway();
      servers.push(official);
      const ours = await startOurGateway('gateway-memory');
      servers.push(ours);
      const oursAggregate = await startOurGateway('gateway-memory-aggregate');
      servers.push(oursAggregate);
      const targets: PushTarget[] = [
        { name: 'official', server: official, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
        { name: 'ours', server: ours, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false },
        { name: 'ours /aggregate', server: oursAggregate, prefix: '/aggregate/metrics/job/bench', method: 'POST', idempotency: true },
      ];

      const idleRss = new Map(targets.map((target) => [target.name, target.server.rssBytes()]));
      const notes: string[] = [];
      log(`filling ${GROUPS} groups × ${API_LIKE_SERIES} series in each gateway`);
      for (const target of [...targets]) {
        try {
          await fillPushGroups(target, body);
        } catch (error) {
          if (target.name !== 'ours /aggregate') throw error;
          // Aggregation mode is a reference row; a build without it still compares the rest.
          notes.push(`ours /aggregate left out: ${error instanceof Error ? error.message : String(error)}`);
          targets.splice(targets.indexOf(target), 1);
        }
      }
      for (const target of targets) await pushLoad(target, bodyFile, settings.warmupSeconds);
      const at5k = await ingestRounds(targets, bodyFile, settings, '5k stored', log);

      log(`preloading ${PRELOAD_GROUPS * PRELOAD_SERIES_PER_GROUP} more series into each gateway`);
      for (const target of targets) {
        const started = Date.now();
        await preload(target.server);
        log(`  ${target.name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      const loadedRss = new Map(targets.map((target) => [target.name, target.server.rssBytes()]));
      const at55k = await ingestRounds(targets, bodyFile, settings, '55k stored', log);
      const afterIngestRss = new Map(targets.map((target) => [target.name, target.server.rssBytes()]));

      // Scrape with 50,000 stored: drop the 100 push groups, keep the preloaded ones.
      for (const target of targets.slice(0, 2)) {
        for (let group = 0; group < GROUPS; group++) await send('DELETE', `${target.server.url}${target.prefix}/instance/i${group}`);
      }
      const scrapeTargets = targets.slice(0, 2);
      for (const target of scrapeTargets) {
        const text = await (await fetch(`${target.server.url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
        const preloaded = text.split('\n').filter((line) => line.startsWith('bench_preload_total{')).length;
        if (preloaded !== PRELOAD_GROUPS * PRELOAD_SERIES_PER_GROUP) {
          throw new Error(`${target.name} exposes ${preloaded} preloaded series, expected ${PRELOAD_GROUPS * PRELOAD_SERIES_PER_GROUP}`);
        }
      }
      const scrape = await alternate<{ plain: TimedFetch; gzip: TimedFetch }>(
        scrapeTargets.map((target) => ({
          name: target.name,
          measure: async (round) => {
            await settle(target.server);
            const plain = await timeRequests(`${target.server.url}/metrics`);
            const gzip = await timeRequests(`${target.server.url}/metrics`, { headers: ['Accept-Encoding: gzip'] });
            log(
              `scrape round ${round + 1} ${target.name}: ${(plain.seconds * 1000).toFixed(1)} ms plain, ${(gzip.seconds * 1000).toFixed(1)} ms gzip`,
            );
            return { plain, gzip };
          },
        })),
        settings.rounds,
      );

      const rate = (runs: Map<string, LoadResult[]>, name: string) => runs.get(name)!.map((run) => run.rps);
      // A round in which no push completed has no latency to show (wrk reports 0).
      const p99 = (runs: Map<string, LoadResult[]>, name: string) =>
        runs.get(name)!.map((run) => (run.requests > 0 ? run.p99Ms : Number.NaN));
      const emptyRounds = targets.flatMap((target) =>
        [at5k, at55k].flatMap((runs, index) => {
          const empty = runs.get(target.name)!.filter((run) => run.requests === 0).length;
          return empty
            ? [
                `${target.name}: ${empty} round(s) at ${index ? '55k' : '5k'} stored completed no push within ${settings.seconds} s (0 pushes/s; left out of ratios and p99)`,
              ]
            : [];
        }),
      );
      const names = targets.map((target) => target.name);
      const ingestRows = [
        ['pushes/s, 5k stored', ...names.map((name) => formatSpread(spread(rate(at5k, name))))],
        ['p99 ms, 5k stored', ...names.map((name) => formatSpread(spread(p99(at5k, name)), 1))],
        ['pushes/s, 55k stored', ...names.map((name) => formatSpread(spread(rate(at55k, name))))],
        ['p99 ms, 55k stored', ...names.map((name) => formatSpread(spread(p99(at55k, name)), 1))],
        ['RSS MiB idle, before any push', ...names.map((name) => formatNumber(idleRss.get(name)! / 2 ** 20, 1))],
        ['RSS MiB after loading 55k', ...names.map((name) => formatNumber(loadedRss.get(name)! / 2 ** 20, 1))],
        ['RSS MiB after the 55k ingest rounds', ...names.map((name) => formatNumber(afterIngestRss.get(name)! / 2 ** 20, 1))],
      ];
      const scrapeMs = (name: string, kind: 'plain' | 'gzip') => scrape.get(name)!.map((run) => run[kind].seconds * 1000);
      const scrapeBytes = (name: string, kind: 'plain' | 'gzip') => scrape.get(name)!.at(-1)![kind].bytes;
      const scrapeRows = [
        ['GET /metrics ms (plain)', ...scrapeTargets.map((target) => formatSpread(spread(scrapeMs(target.name, 'plain')), 1))],
        ['GET /metrics ms (gzip)', ...scrapeTargets.map((target) => formatSpread(spread(scrapeMs(target.name, 'gzip')), 1))],
        ['GET /metrics MiB (plain)', ...scrapeTargets.map((target) => formatNumber(scrapeBytes(target.name, 'plain') / 2 ** 20, 2))],
        ['GET /metrics MiB (gzip)', ...scrapeTargets.map((target) => formatNumber(scrapeBytes(target.name, 'gzip') / 2 ** 20, 2))],
      ];
      const ratioRows = [
        [
          'ingest at 5k: ours ÷ official',
          formatRatio(spread(pairedRatios(rate(at5k, 'ours'), rate(at5k, 'official'))), { op: '>=', bound: 10 }),
        ],
        ['ingest at 55k: ours ÷ official', formatRatio(spread(pairedRatios(rate(at55k, 'ours'), rate(at55k, 'official'))))],
        [
          'ours: ingest at 55k ÷ at 5k',
          formatRatio(spread(pairedRatios(rate(at55k, 'ours'), rate(at5k, 'ours'))), { op: '>=', bound: 0.8 }),
        ],
        ['official: ingest at 55k ÷ at 5k', formatRatio(spread(pairedRatios(rate(at55k, 'official'), rate(at5k, 'official'))))],
        ...(names.includes('ours /aggregate')
          ? [['/aggregate: ingest at 5k ÷ ours PUT', formatRatio(spread(pairedRatios(rate(at5k, 'ours /aggregate'), rate(at5k, 'ours'))))]]
          : []),
        [
          'scrape time (plain): ours ÷ official',
          formatRatio(spread(pairedRatios(scrapeMs('ours', 'plain'), scrapeMs('official', 'plain'))), { op: '<=', bound: 1 }),
        ],
        ['scrape time (gzip): ours ÷ official', formatRatio(spread(pairedRatios(scrapeMs('ours', 'gzip'), scrapeMs('official', 'gzip'))))],
        ['scrape bytes (plain): ours ÷ official', formatRatio(spread([scrapeBytes('ours', 'plain') / scrapeBytes('official', 'plain')]))],
        [
          'RSS after loading: ours ÷ official',
          formatRatio(spread([loadedRss.get('ours')! / loadedRss.get('official')!]), { op: '<=', bound: 1 }),
        ],
        [
          'RSS after the ingest rounds: ours ÷ official',
          formatRatio(spread([afterIngestRss.get('ours')! / afterIngestRss.get('official')!])),
        ],
      ];
      // The gateways above are stopped first: the OTLP rounds run on fresh ones, on the same core.
      for (const server of servers.splice(0)) await server.stop();
      const otlpTable = await otlpIngest(settings, workDir, servers, log);
      return [
        {
          title: `Gateway push ingest: ${CLIENTS} clients, ${API_LIKE_SERIES}-series bodies into ${GROUPS} groups, ${settings.rounds} rounds × ${settings.seconds} s`,
          columns: [
            'measure',
            ...names.map((name) => ({ official: 'official 1.5.1', ours: 'ours (memory, PUT)' })[name] ?? 'ours (memory, POST /aggregate)'),
          ],
          rows: ingestRows,
          notes: [
            ...notes,
            ...emptyRounds,
            'each gateway pinned to one core (CPU 1); wrk on CPU 0; the official one therefore runs with GOMAXPROCS=1 like our single-threaded Node process',
            '/aggregate pushes carry a unique Idempotency-Key each; counters are summed, gauges replaced',
          ],
        },
        {
          title: `Gateway scrape with ${PRELOAD_GROUPS * PRELOAD_SERIES_PER_GROUP} series stored (curl, one at a time, median of 3 per round)`,
          columns: ['measure', 'official 1.5.1', 'ours (memory)'],
          rows: scrapeRows,
        },
        { title: 'Gateway ratios (median of per-round ratios, min–max)', columns: ['ratio', 'value'], rows: ratioRows },
        otlpTable,
        ...(await nativeMergeTables(settings, workDir, log)),
      ] satisfies Table[];
    } finally {
      for (const server of servers) await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
