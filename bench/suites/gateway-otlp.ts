// Part of the gateway suite: OTLP ingest (POST /v1/metrics, protobuf and JSON) beside Pushgateway-protocol ingest
// of the same data (POST /aggregate with an Idempotency-Key), in points per second. Each variant has its own fresh
// gateway; each request carries 50 delta counter points (10 metrics × 5 attribute sets) for one of 100 groups, and
// every OTLP request covers a new window, so each is applied (bench/wrk/otlp.lua), never answered as a replay.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import { ExportMetricsServiceRequestSchema } from '../../pushgateway/proto/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { type LoadResult, runWrk } from '../lib/load.js';
import { type BenchProcess, settle } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, type BenchSettings } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import { CLIENTS, GROUPS, pushLoad, startOurGateway } from './gateway.js';

const METRICS = 10;
const ATTRIBUTE_SETS = 5;
const POINTS = METRICS * ATTRIBUTE_SETS;
// The byte patterns bench/wrk/otlp.lua replaces: "SSSSSSSS" and "EEEEEEEE" read as little-endian fixed64.
const START_MARKER = 0x5353535353535353n;
const END_MARKER = 0x4545454545454545n;

function otlpTemplate() {
  return create(ExportMetricsServiceRequestSchema, {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { value: { case: 'stringValue', value: 'bench' } } },
            { key: 'service.instance.id', value: { value: { case: 'stringValue', value: 'IIII' } } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'bench' },
            metrics: Array.from({ length: METRICS }, (_, m) => ({
              name: `bench.otlp.m${m}`,
              data: {
                case: 'sum' as const,
                value: {
                  aggregationTemporality: 1,
                  isMonotonic: true,
                  dataPoints: Array.from({ length: ATTRIBUTE_SETS }, (_, a) => ({
                    attributes: [{ key: 'route', value: { value: { case: 'stringValue' as const, value: `/r${a}` } } }],
                    startTimeUnixNano: START_MARKER,
                    timeUnixNano: END_MARKER,
                    value: { case: 'asInt' as const, value: 1n },
                  })),
                },
              },
            })),
          },
        ],
      },
    ],
  });
}

/** The same 50 counter points as the Pushgateway protocol's text (deltas for /aggregate). */
function textBody(): string {
  let text = '';
  for (let m = 0; m < METRICS; m++) {
    text += `# TYPE bench_otlp_m${m}_total counter\n`;
    for (let a = 0; a < ATTRIBUTE_SETS; a++) text += `bench_otlp_m${m}_total{route="/r${a}"} 1\n`;
  }
  return text;
}

interface Variant {
  name: string;
  server: BenchProcess;
  load: (seconds: number) => Promise<LoadResult>;
}

async function outcomeCount(server: BenchProcess, outcome: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  return Number(new RegExp(`gateway_otlp_points_total\\{outcome="${outcome}"\\} (\\S+)`).exec(text)?.[1] ?? Number.NaN);
}

/** The store the variants' gateways run on: the memory store unless given (the redis suite runs them on Redis). */
export interface OtlpIngestStore {
  name: string;
  /** The environment of the gateway of one variant (each gets its own, e.g. its own key prefix). */
  env: (gateway: string) => Record<string, string>;
}

export async function otlpIngest(
  settings: BenchSettings,
  workDir: string,
  servers: BenchProcess[],
  log: (line: string) => void,
  store: OtlpIngestStore = { name: 'memory store', env: () => ({}) },
): Promise<Table> {
  const template = otlpTemplate();
  const protobufFile = join(workDir, 'otlp.pb');
  const jsonFile = join(workDir, 'otlp.json');
  const textFile = join(workDir, 'otlp-equivalent.txt');
  writeFileSync(protobufFile, toBinary(ExportMetricsServiceRequestSchema, template));
  writeFileSync(jsonFile, toJsonString(ExportMetricsServiceRequestSchema, template));
  writeFileSync(textFile, textBody());

  const otlpLoad = (server: BenchProcess, bodyFile: string, contentType: string) => (seconds: number) =>
    runWrk({
      url: `${server.url}/`,
      connections: CLIENTS,
      durationSeconds: seconds,
      script: 'otlp.lua',
      env: { BENCH_BODY_FILE: bodyFile, BENCH_GROUPS: String(GROUPS), BENCH_CONTENT_TYPE: contentType },
    });
  const aggregate = await startOurGateway('gateway-otlp-baseline', store.env('baseline'));
  servers.push(aggregate);
  const protobuf = await startOurGateway('gateway-otlp-protobuf', store.env('protobuf'));
  servers.push(protobuf);
  const json = await startOurGateway('gateway-otlp-json', store.env('json'));
  servers.push(json);
  const variants: Variant[] = [
    {
      name: 'Pushgateway protocol (POST /aggregate, text)',
      server: aggregate,
      load: (seconds) =>
        pushLoad(
          { name: 'aggregate', server: aggregate, prefix: '/aggregate/metrics/job/bench', method: 'POST', idempotency: true },
          textFile,
          seconds,
        ),
    },
    { name: 'OTLP protobuf', server: protobuf, load: otlpLoad(protobuf, protobufFile, 'application/x-protobuf') },
    { name: 'OTLP JSON', server: json, load: otlpLoad(json, jsonFile, 'application/json') },
  ];
  for (const variant of variants) await variant.load(settings.warmupSeconds);
  const results = await alternate<LoadResult>(
    variants.map((variant) => ({
      name: variant.name,
      measure: async (round) => {
        const result = await variant.load(settings.seconds);
        await settle(variant.server);
        log(
          `OTLP ingest round ${round + 1} ${variant.name}: ${(result.rps * POINTS).toFixed(0)} points/s, p99 ${result.p99Ms.toFixed(1)} ms`,
        );
        if (result.non2xx > 0) throw new Error(`${variant.name} refused ${result.non2xx} requests`);
        return result;
      },
    })),
    settings.rounds,
  );
  // A 200 may still carry refused points (partial_success). 16 connections share each group's streams, so now and
  // then an export overtakes an earlier one of the same stream (the earlier one is then refused as overlapping —
  // an SDK never has two exports of a stream in flight); more than 0.1 % would mean the ingest figure is not one of
  // applied points.
  const refusedNotes: string[] = [];
  for (const server of [protobuf, json]) {
    const refused = (await outcomeCount(server, 'overlapping')) + (await outcomeCount(server, 'invalid'));
    const applied = await outcomeCount(server, 'applied');
    if (!(refused <= applied / 1000)) throw new Error(`${server.name} refused ${refused} of ${refused + applied} OTLP points`);
    refusedNotes.push(`${server.name}: ${refused} of ${refused + applied} points refused (overtaken exports)`);
  }
  const pointsPerSecond = (name: string) => results.get(name)!.map((result) => result.rps * POINTS);
  const baseline = pointsPerSecond(variants[0]!.name);
  return {
    title: `OTLP ingest beside the Pushgateway protocol (${store.name}): ${CLIENTS} clients, ${POINTS} delta counter points per request into ${GROUPS} groups, ${settings.rounds} rounds × ${settings.seconds} s`,
    columns: ['variant', 'points/s median (min–max)', 'p99 ms (median)', '÷ Pushgateway protocol'],
    rows: variants.map((variant) => [
      variant.name,
      formatSpread(spread(pointsPerSecond(variant.name)), 0),
      formatNumber(spread(results.get(variant.name)!.map((result) => result.p99Ms)).median, 1),
      formatRatio(spread(pairedRatios(pointsPerSecond(variant.name), baseline))),
    ]),
    notes: [
      `each variant has its own gateway (${store.name}), pinned to CPU 1; wrk on CPU 0`,
      'every OTLP request covers a new delta window of its streams (applied, not a replay); /aggregate pushes carry a unique Idempotency-Key',
      ...refusedNotes,
    ],
  };
}
