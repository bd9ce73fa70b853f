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

describe('parseLabelText', () => {
  it('reads back escaped values', () => {
    expect(parseLabelText('a="1",b="x\\"y\\\\z\\n",c=""')).toEqual({ a: '1', b: 'x"y\\z\n', c: '' });
    expect(parseLabelText('')).toEqual({});
  });
});
