// Remote write out (pushgateway/remote-write/), against a real receiver: VictoriaMetrics (Debian) on loopback,
// started as the tests start it and pinned to the load core.
// 1. Send rate per core: a gateway holding ≈10k, then ≈100k series (counters, gauges, classic and native
//    histograms) sends every second; over a window, the samples it delivered ÷ the CPU time its process used.
// 2. Cost on ingest: the `gateway` suite's push load against a gateway with remote write off and the same gateway
//    sending every 5 s and every 1 s, same store, alternating rounds. The gateways not being measured are
//    SIGSTOPped, so a sender's ticks never run on the core while another variant is measured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricFamily } from '../../pushgateway/core/model.js';
import { encodeDelimitedFamilies, protobufContentType } from '../../pushgateway/core/protobuf-exposition.js';
import { waitUntil } from '../../test/support/services/process.js';
import { startVictoriaMetrics } from '../../test/support/services/victoria-metrics.js';
import { API_LIKE_SERIES, apiLikeBody } from '../lib/exposition.js';
import type { LoadResult } from '../lib/load.js';
import { type BenchProcess, LOAD_CPU, pinRunning, settle } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { CLIENTS, fillPushGroups, GROUPS, type PushTarget, pushLoad, startOurGateway } from './gateway.js';
import { nativeBuckets } from './gateway-native.js';

/** Series sent per unit: a counter, a gauge, a classic histogram (8 buckets + _sum + _count), a native histogram. */
const SERIES_PER_UNIT = 13;
const UNITS_PER_GROUP = 192;
const CLASSIC_BOUNDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, Infinity];
/** Groups of ≈2,500 series: 4 make ≈10k, 40 make ≈100k. */
const SEND_SIZES = [4, 40];
/** Mixed series preloaded beside the 100 push groups for the ingest rounds (≈50k, as the gateway suite's 55k stored). */
const INGEST_PRELOAD_GROUPS = 20;

/** One group of mixed series (also bench/scripts/remote-write-snapshot.ts). */
export function mixedGroupFamilies(group: number): MetricFamily[] {
  const units = Array.from({ length: UNITS_PER_GROUP }, (_, unit) => ({ series: `u${unit}`, source: `g${group}` }));
  return [
    { name: 'bench_rw_events_total', help: 'Bench.', type: 'counter', metrics: units.map((labels, i) => ({ labels, value: i + group })) },
    { name: 'bench_rw_depth', help: 'Bench.', type: 'gauge', metrics: units.map((labels, i) => ({ labels, value: i % 17 })) },
    {
      name: 'bench_rw_classic_seconds',
      help: 'Bench.',
      type: 'histogram',
      metrics: units.map((labels) => ({
        labels,
        buckets: CLASSIC_BOUNDS.map((upperBound, b) => ({ upperBound, cumulativeCount: b + 1 })),
        sum: 4.5,
        count: CLASSIC_BOUNDS.length,
      })),
    },
    {
      name: 'bench_rw_native_seconds',
      help: 'Bench.',
      type: 'histogram',
      metrics: units.map((labels) => {
        const native = nativeBuckets(3);
        const count = native.zeroCount + [...native.positiveCounts, ...native.negativeCounts].reduce((a, b) => a + b, 0);
        return { labels, buckets: [], sum: 3.5, count, native };
      }),
    },
  ];
}

/** As a delimited-protobuf push: the exposition that carries native histograms. */
function mixedGroupBody(group: number): Uint8Array<ArrayBuffer> {
  return encodeDelimitedFamilies(mixedGroupFamilies(group));
}

/** Samples one group's snapshot holds: its series plus push_time_seconds and push_failure_time_seconds. */
const samplesPerGroup = UNITS_PER_GROUP * SERIES_PER_UNIT + 2;

async function putMixedGroups(server: BenchProcess, from: number, to: number): Promise<void> {
  for (let group = from; group < to; group++) {
    const response = await fetch(`${server.url}/metrics/job/rw/instance/m${group}`, {
      method: 'PUT',
      headers: { 'content-type': protobufContentType },
      body: mixedGroupBody(group),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`PUT of mixed group ${group} → ${response.status}: ${text.slice(0, 300)}`);
  }
}

interface SenderCounters {
  sent: number;
  failed: number;
  dropped: number;
  bytes: number;
}

/** The sender's own counters from the gateway's /metrics (summed over receivers). */
async function senderCounters(server: BenchProcess): Promise<SenderCounters> {
  const text = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  const sum = (name: string) => {
    let total = 0;
    for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    return total;
  };
  return {
    sent: sum('prometheus_remote_storage_samples_total'),
    failed: sum('prometheus_remote_storage_samples_failed_total'),
    dropped: sum('prometheus_remote_storage_samples_dropped_total'),
    bytes: sum('prometheus_remote_storage_bytes_total'),
  };
}

interface SendWindow {
  samples: number;
  bytes: number;
  failed: number;
  dropped: number;
  wallSeconds: number;
  cpuSeconds: number;
}

/**
 * One window of sending. The CPU readings sit inside the two /metrics scrapes, so rendering the scrape is not
 * charged to sending; the samples counted include what was sent during the scrapes (a few % of the window).
 */
async function sendWindow(server: BenchProcess, seconds: number): Promise<SendWindow> {
  const before = await senderCounters(server);
  const cpuBefore = server.cpuSeconds();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpuSeconds = server.cpuSeconds() - cpuBefore;
  const wallSeconds = (performance.now() - started) / 1000;
  const after = await senderCounters(server);
  return {
    samples: after.sent - before.sent,
    bytes: after.bytes - before.bytes,
    failed: after.failed - before.failed,
    dropped: after.dropped - before.dropped,
    wallSeconds,
    cpuSeconds,
  };
}

/** Pauses a process (and with it its remote-write timer) while another variant is measured on its core. */
function pause(server: BenchProcess, paused: boolean): void {
  process.kill(server.pid, paused ? 'SIGSTOP' : 'SIGCONT');
}

export const gatewayRemoteWriteSuite: Suite = {
  name: 'remote-write',
  description:
    'remote write to VictoriaMetrics: series/s sent per CPU-second at ≈10k and ≈100k stored; push ingest with remote write off vs every 5 s / 1 s at ≈55k stored',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const workDir = mkdtempSync(join(tmpdir(), 'bench-remote-write-'));
    const servers: BenchProcess[] = [];
    const paused = new Set<BenchProcess>();
    const receiver = await startVictoriaMetrics();
    try {
      // The receiver shares the load core with wrk, away from the gateway's core (all its threads: -a).
      pinRunning(receiver.pid, LOAD_CPU);
      const writeUrl = `${receiver.url}/api/v1/write`;
      const sender = (interval: number) => ({
        GATEWAY_REMOTE_WRITE_URL: writeUrl,
        GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: String(interval),
      });

      // 1. Send rate per core.
      const gateway = await startOurGateway('gateway-remote-write', sender(1));
      servers.push(gateway);
      const sendRows: string[][] = [];
      const windowSeconds = settings.seconds * 2;
      // An empty store sends nothing: what the process spends per second on its own (timers, the /metrics reads).
      const idle = await sendWindow(gateway, windowSeconds);
      const idleCpuPerSecond = idle.cpuSeconds / idle.wallSeconds;
      log(`idle: ${idleCpuPerSecond.toFixed(3)} CPU-s per s`);
      let loaded = 0;
      for (const groups of SEND_SIZES) {
        await putMixedGroups(gateway, loaded, groups);
        loaded = groups;
        const perSnapshot = groups * samplesPerGroup;
        // Until one whole snapshot of this size has landed (the first one also warms the JIT).
        const start = (await senderCounters(gateway)).sent;
        await waitUntil(async () => (await senderCounters(gateway)).sent - start >= 2 * perSnapshot, {
          what: `two snapshots of ${perSnapshot} samples at the receiver`,
          timeoutMs: 120_000,
          intervalMs: 500,
        });
        await sendWindow(gateway, settings.warmupSeconds); // JIT and GC settled at this size, not measured
        const windows: SendWindow[] = [];
        for (let round = 0; round < settings.rounds; round++) {
          const window = await sendWindow(gateway, windowSeconds);
          log(
            `send ${perSnapshot} series, round ${round + 1}: ${(window.samples / window.wallSeconds).toFixed(0)} samples/s, ${window.cpuSeconds.toFixed(2)} CPU-s in ${window.wallSeconds.toFixed(1)} s, ${window.failed} failed, ${window.dropped} dropped`,
          );
          if (window.failed > 0) throw new Error(`the receiver refused ${window.failed} samples: ${gateway.logTail(5)}`);
          windows.push(window);
        }
        const perCpu = windows.map((w) => w.samples / w.cpuSeconds);
        sendRows.push([
          formatNumber(perSnapshot),
          formatSpread(spread(windows.map((w) => w.samples / w.wallSeconds))),
          formatSpread(spread(windows.map((w) => w.cpuSeconds / w.wallSeconds)), 2),
          formatSpread(spread(perCpu)),
          formatSpread(spread(perCpu.map((rate) => 1e6 / rate)), 2),
          formatSpread(spread(windows.map((w) => ((w.cpuSeconds - idleCpuPerSecond * w.wallSeconds) / w.samples) * 1e6)), 2),
          formatSpread(spread(windows.map((w) => w.bytes / w.samples)), 1),
          formatNumber(windows.reduce((total, w) => total + w.dropped, 0)),
        ]);
      }
      await gateway.stop();
      servers.splice(servers.indexOf(gateway), 1);

      // 2. Ingest with remote write off and on, same store.
      const bodyFile = join(workDir, 'push.txt');
      writeFileSync(bodyFile, apiLikeBody());
      const variants = [
        { name: 'off', env: {} },
        { name: 'every 5 s', env: sender(5) },
        { name: 'every 1 s', env: sender(1) },
      ];
      const targets: PushTarget[] = [];
      for (const variant of variants) {
        const server = await startOurGateway(`gateway-rw-${variant.name.replaceAll(' ', '')}`, variant.env);
        servers.push(server);
        const target: PushTarget = { name: variant.name, server, prefix: '/metrics/job/bench', method: 'PUT', idempotency: false };
        targets.push(target);
        await fillPushGroups(target, apiLikeBody());
        await putMixedGroups(server, 0, INGEST_PRELOAD_GROUPS);
        await pushLoad(target, bodyFile, settings.warmupSeconds);
        pause(server, true);
        paused.add(server);
      }
      const storedSeries = GROUPS * (API_LIKE_SERIES + 2) + INGEST_PRELOAD_GROUPS * samplesPerGroup;
      const runs = await alternate<LoadResult & { cpuSeconds: number }>(
        targets.map((target) => ({
          name: target.name,
          measure: async (round) => {
            pause(target.server, false);
            paused.delete(target.server);
            // A sender resumed from a pause first catches up on its missed tick; let that pass unmeasured.
            await settle(target.server, 2_000);
            const cpuBefore = target.server.cpuSeconds();
            const result = await pushLoad(target, bodyFile, settings.seconds);
            const cpuSeconds = target.server.cpuSeconds() - cpuBefore;
            await settle(target.server, 2_000);
            pause(target.server, true);
            paused.add(target.server);
            log(
              `ingest round ${round + 1}, remote write ${target.name}: ${result.rps.toFixed(0)} pushes/s, ${((cpuSeconds / result.requests) * 1e6).toFixed(0)} CPU-µs per push`,
            );
            if (result.non2xx > 0) throw new Error(`${target.name} refused ${result.non2xx} pushes`);
            return { ...result, cpuSeconds };
          },
        })),
        settings.rounds,
      );
      const failedOnReceiver = await Promise.all(
        targets.slice(1).map(async (target) => {
          pause(target.server, false);
          paused.delete(target.server);
          const counters = await senderCounters(target.server);
          return `${target.name}: ${formatNumber(counters.sent)} samples delivered during the ingest rounds, ${counters.failed} failed, ${counters.dropped} dropped`;
        }),
      );
      const rate = (name: string) => runs.get(name)!.map((run) => run.rps);
      const cpuPerPush = (name: string) => runs.get(name)!.map((run) => (run.cpuSeconds / run.requests) * 1e6);
      return [
        {
          title: `Remote write: samples sent per CPU-second of the gateway, to VictoriaMetrics every 1 s, ${settings.rounds} windows × ${windowSeconds} s`,
          columns: [
            'samples per snapshot',
            'samples/s sent',
            'gateway CPU-s per s',
            'samples per CPU-second',
            'CPU-µs per sample',
            'CPU-µs per sample above idle',
            'bytes per sample (snappy)',
            'dropped',
          ],
          rows: sendRows,
          notes: [
            `per group of ${samplesPerGroup} samples: ${UNITS_PER_GROUP} × (a counter, a gauge, a classic histogram of ${CLASSIC_BOUNDS.length} buckets = ${CLASSIC_BOUNDS.length + 2} series, a native histogram of 43 buckets = 1 series) + 2 push times`,
            `idle (empty store, nothing to send): ${formatNumber(idleCpuPerSecond, 3)} CPU-s per s, subtracted in "above idle"`,
            'gateway (memory store, default 2,000 samples per request, 4 shards) on CPU 1; VictoriaMetrics on CPU 0; CPU from /proc/<pid>/stat between the two /metrics reads of each window',
            'with the core saturated the snapshots come less often than every second (a tick waits for the previous one), so samples/s is then the ceiling of one core',
          ],
        },
        {
          title: `Push ingest while remote-writing: ${CLIENTS} clients, ${API_LIKE_SERIES}-series PUTs into ${GROUPS} groups, ≈${formatNumber(storedSeries)} series stored, ${settings.rounds} rounds × ${settings.seconds} s`,
          columns: ['remote write', 'pushes/s', 'CPU-µs per push', 'pushes/s ÷ off', 'CPU per push: off ÷ this'],
          rows: targets.map((target) => [
            target.name,
            formatSpread(spread(rate(target.name))),
            formatSpread(spread(cpuPerPush(target.name))),
            formatRatio(spread(pairedRatios(rate(target.name), rate('off'))), target.name === 'off' ? undefined : { op: '>=', bound: 0.9 }),
            formatRatio(spread(pairedRatios(cpuPerPush('off'), cpuPerPush(target.name)))),
          ]),
          notes: [
            `stored: the ${GROUPS} push groups plus ${INGEST_PRELOAD_GROUPS} mixed groups as above; every snapshot sends all of them`,
            'three gateways on CPU 1, wrk and VictoriaMetrics on CPU 0; the gateways not being measured are paused (SIGSTOP) so their ticks never share the core',
            ...failedOnReceiver,
          ],
        },
      ] satisfies Table[];
    } finally {
      for (const server of paused) pause(server, false);
      for (const server of servers) await server.stop();
      await receiver.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
