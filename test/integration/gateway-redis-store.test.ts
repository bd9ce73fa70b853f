// The Redis store against a real Redis 7, over both transports: RESP/TCP (node-redis) and Upstash REST
// (through the REST bridge). The cases themselves are in test/support/redis-store-suite.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLabelText } from '../../pushgateway/store/redis.js';
import { upstashCommands } from '../../pushgateway/store/redis-rest.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import { describeRedisStore } from '../support/redis-store-suite.js';
import type { RunningService } from '../support/services/process.js';
import { type RunningRedisBridge, startRedis, startRedisBridge } from '../support/services/redis.js';

let redis: RunningService;
let bridge: RunningRedisBridge;

beforeAll(async () => {
  redis = await startRedis();
  bridge = await startRedisBridge(redis.url);
});
afterAll(async () => {
  await bridge?.stop();
  await redis?.stop();
});

// Nothing listens on the discard port.
describeRedisStore('TCP', () => ({
  connect: () => redisTcpCommands({ url: redis.url }),
  unreachable: () => redisTcpCommands({ url: 'redis://127.0.0.1:9' }),
}));
describeRedisStore('Upstash REST', () => ({
  connect: () => upstashCommands(bridge),
  unreachable: () => upstashCommands({ url: 'http://127.0.0.1:9', token: 'x' }),
}));

describe('RedisStore with native histograms', () => {
  const native = (zeroCount: number): MetricFamily => ({
    name: 'nh',
    help: undefined,
    type: 'histogram',
    metrics: [
      {
        labels: {},
        buckets: [],
        sum: 1.5,
        count: zeroCount + 3,
        native: {
          schema: 2,
          zeroThreshold: 2 ** -128,
          zeroCount,
          positiveSpans: [{ offset: -1, length: 2 }],
          positiveCounts: [1, 2],
          negativeSpans: [],
          negativeCounts: [],
        },
      },
    ],
  });

  it('stores them for PUT/POST and serves them back, and refuses to aggregate them, changing nothing', async () => {
    const s = store();
    expect(await s.apply(push([native(1)], { mode: 'replace' }))).toEqual({ status: 'applied' });
    const stored = () => s.groups(2_000).then((groups) => groups[0]!.families.get('nh')!.metrics[0] as HistogramMetric);
    expect(await stored()).toEqual({ ...native(1).metrics[0], labels: { job: 'api', instance: '' } });
    const refused = await s.apply(push([native(2)]));
    expect(refused).toEqual({
      status: 'invalid',
      message: expect.stringContaining('native histogram nh cannot be aggregated on the Redis store'),
    });
    expect((await stored()).native!.zeroCount).toBe(1);
    // A classic delta into the stored native series is refused inside the script.
    const classic = await s.apply(push([histogram('nh', [1, 1, 1], 1)]));
    expect(classic).toEqual({ status: 'invalid', message: expect.stringContaining('is stored as a native histogram') });
  });
});

describe('parseLabelText', () => {
  it('reads back escaped values', () => {
    expect(parseLabelText('a="1",b="x\\"y\\\\z\\n",c=""')).toEqual({ a: '1', b: 'x"y\\z\n', c: '' });
    expect(parseLabelText('')).toEqual({});
  });
});
