// The Redis collector against real Redis 7 through the Upstash REST bridge (the only way the app reaches Redis),
// and what happens when it goes away: the collector fails, the scheduler logs, the gauges keep their last value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCollector } from '../../api/observability/collectors/redis.js';
import { startCollectors } from '../../api/observability/collectors/scheduler.js';
import { createApiMetrics } from '../../api/observability/metrics.js';
import { startRedis, startRedisBridge, type RunningRedisBridge, type RunningService } from '../support/services/index.js';

let redis: RunningService;
let bridge: RunningRedisBridge | undefined;

beforeAll(async () => {
  redis = await startRedis();
  bridge = await startRedisBridge(redis.url);
});
afterAll(async () => {
  await bridge?.stop();
  await redis?.stop();
});

describe('redisCollector over the Upstash REST bridge', () => {
  it('reads connected clients and used memory from INFO, and only logs once Redis is gone', async () => {
    const metrics = createApiMetrics();
    const warnings: Array<Record<string, unknown>> = [];
    const running = startCollectors([redisCollector(metrics, { url: bridge!.url, token: bridge!.token })], {
      intervalMs: 60_000,
      logger: { warn: (fields) => void warnings.push(fields) },
    });
    try {
      await running.collectNow();
      const clients = (await metrics.redisConnectedClients.get()).values[0]!.value;
      const memory = (await metrics.redisMemoryUsageBytes.get()).values[0]!.value;
      expect(clients).toBeGreaterThanOrEqual(1); // the bridge's own connection
      expect(memory).toBeGreaterThan(100_000);
      expect(warnings).toEqual([]);

      // Redis as the app sees it (its REST endpoint) disappears.
      await bridge!.stop();
      bridge = undefined;
      await running.collectNow();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.collector).toBe('redis');
      expect((await metrics.redisMemoryUsageBytes.get()).values[0]!.value).toBe(memory);
    } finally {
      running.stop();
    }
  });

  it('fails with the status, never the token, when the token is wrong', async () => {
    const metrics = createApiMetrics();
    const wrongToken = await startRedisBridge(redis.url);
    const collector = redisCollector(metrics, { url: wrongToken.url, token: 'wrong-token' });
    const error = await collector.collect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/HTTP 401/);
    expect(error?.message).not.toContain('wrong-token');
    await wrongToken.stop();
  });
});
