// OTLP/HTTP on the Workers build of the gateway in real workerd, state in the Durable Object: the codec runs
// without eval, delta windows reach the object over RPC (64-bit times as bigint) and are judged there, and the
// applied windows survive a restart of workerd with the totals (Durable Object storage); and with GATEWAY_STORE=redis
// (real Redis 7 behind the Upstash REST bridge) two gateway Workers apply a window once between them.
import { join, resolve } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportMetricsServiceRequestSchema } from '../../pushgateway/proto/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { startRedis, startRedisBridge } from '../support/services/redis.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';

const CONFIG = resolve(import.meta.dirname, '../../pushgateway/wrangler.toml');
const TOKEN = 'workers-otlp-token';
const bindings = { GATEWAY_PUSH_TOKEN: TOKEN };
const t0 = 1_700_000_000_000_000_000n;
const second = 1_000_000_000n;

let dir: string;
let scriptPath: string;

beforeAll(async () => {
  dir = makeTempDir('gw-workerd-otlp');
  scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
}, 180_000);
afterAll(() => {
  if (dir) removeDir(dir);
});

function exportBody(value: number, start: bigint, end: bigint): Uint8Array {
  return toBinary(
    ExportMetricsServiceRequestSchema,
    create(ExportMetricsServiceRequestSchema, {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { value: { case: 'stringValue', value: 'edge' } } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'hits',
                  data: {
                    case: 'sum',
                    value: {
                      aggregationTemporality: 1,
                      isMonotonic: true,
                      dataPoints: [{ startTimeUnixNano: start, timeUnixNano: end, value: { case: 'asInt', value: BigInt(value) } }],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  );
}

const send = (worker: RunningWorker, body: Uint8Array | string, type = 'application/x-protobuf') =>
  worker.dispatchFetch('http://gateway.test/v1/metrics', {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
    body: body as BodyInit,
  });

const total = async (worker: RunningWorker) =>
  /^hits_total\{[^}]*\} (\S+)$/m.exec(await (await worker.dispatchFetch('http://gateway.test/metrics')).text())?.[1];

describe('OTLP on Workers + Durable Object (workerd)', () => {
  it('sums delta windows once, refuses overlaps and bad bodies, and keeps windows across a restart', async () => {
    const options = { config: CONFIG, scriptPath, bindings, miniflareOptions: { durableObjectsPersist: join(dir, 'do-state') } };
    const first = await startWorker(options);
    try {
      expect((await send(first, exportBody(4, t0, t0 + second))).status).toBe(200);
      expect((await send(first, exportBody(4, t0, t0 + second))).status).toBe(200); // a retry: not applied again
      expect((await send(first, exportBody(6, t0 + second, t0 + 2n * second))).status).toBe(200);
      const overlapping = await send(first, exportBody(1, t0 + second / 2n, t0 + 3n * second));
      expect(overlapping.status).toBe(200);
      expect(new Uint8Array(await overlapping.arrayBuffer()).length).toBeGreaterThan(0); // partial_success is set
      expect((await send(first, new Uint8Array([0x0a, 0xff]))).status).toBe(400);
      expect((await send(first, '{}', 'text/plain')).status).toBe(415);
      expect(await total(first)).toBe('10');
    } finally {
      await first.stop();
    }
    const second_ = await startWorker(options);
    try {
      expect(await total(second_)).toBe('10');
      expect((await send(second_, exportBody(6, t0 + second, t0 + 2n * second))).status).toBe(200); // replay after restart
      expect(await total(second_)).toBe('10');
      const json = JSON.stringify({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'edge' } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'hits',
                    sum: {
                      aggregationTemporality: 1,
                      isMonotonic: true,
                      dataPoints: [{ startTimeUnixNano: String(t0 + 2n * second), timeUnixNano: String(t0 + 3n * second), asInt: '5' }],
                    },
                  },
                ],
              },
            ],
          },
        ],
      });
      const answer = await send(second_, json, 'application/json');
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({});
      expect(await total(second_)).toBe('15');
    } finally {
      await second_.stop();
    }
  }, 180_000);
});

describe('OTLP on Workers + Redis (workerd, Upstash REST)', () => {
  it('applies a window once across two gateway Workers sharing one Redis', async () => {
    const redis = await startRedis();
    const bridge = await startRedisBridge(redis.url);
    const redisBindings = {
      ...bindings,
      GATEWAY_STORE: 'redis',
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
    };
    const workers = await Promise.all([0, 1].map(() => startWorker({ config: CONFIG, scriptPath, bindings: redisBindings })));
    try {
      const [a, b] = workers as [RunningWorker, RunningWorker];
      expect((await send(a, exportBody(4, t0, t0 + second))).status).toBe(200);
      expect((await send(b, exportBody(4, t0, t0 + second))).status).toBe(200); // the retry reaches the other Worker
      expect((await send(b, exportBody(6, t0 + second, t0 + 2n * second))).status).toBe(200);
      const overlapping = await send(a, exportBody(1, t0 + second / 2n, t0 + 3n * second));
      expect(new Uint8Array(await overlapping.arrayBuffer()).length).toBeGreaterThan(0); // partial_success is set
      expect([await total(a), await total(b)]).toEqual(['10', '10']);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await bridge.stop();
      await redis.stop();
    }
  }, 180_000);
});
