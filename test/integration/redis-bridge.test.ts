// The Upstash REST bridge against real Redis 7, driven by the real @upstash/redis client.
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startRedisBridge, type RunningRedisBridge, type RunningService } from '../support/services/index.js';

describe('Upstash REST bridge over real Redis', () => {
  let redis: RunningService;
  let bridge: RunningRedisBridge;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    bridge = await startRedisBridge(redis.url);
    client = new Redis({ url: bridge.url, token: bridge.token, retry: false });
  });
  afterAll(async () => {
    await bridge?.stop();
    await redis?.stop();
  });

  it('round-trips strings, including non-ASCII and the literal "OK"', async () => {
    await client.set('greeting', 'grüße ✓');
    await client.set('ok', 'OK');
    expect(await client.get('greeting')).toBe('grüße ✓');
    expect(await client.get('ok')).toBe('OK');
    expect(await client.ping()).toBe('PONG');
  });

  it('runs pipelines and transactions in order', async () => {
    const pipeline = client.pipeline();
    pipeline.incr('counter');
    pipeline.incrby('counter', 4);
    pipeline.get('counter');
    expect(await pipeline.exec()).toEqual([1, 5, 5]);

    const transaction = client.multi();
    transaction.hset('hash', { a: '1', b: 'two' });
    transaction.hgetall('hash');
    expect(await transaction.exec()).toEqual([2, { a: 1, b: 'two' }]);
  });

  it('runs Lua scripts through EVAL/EVALSHA', async () => {
    const result = await client.eval('return redis.call("INCRBY", KEYS[1], ARGV[1])', ['scripted'], ['7']);
    expect(result).toBe(7);
  });

  it('reports Redis errors as errors, not results', async () => {
    await client.set('text', 'abc');
    await expect(client.incr('text')).rejects.toThrow(/not an integer/);
  });

  it('refuses requests without the bearer token', async () => {
    const response = await fetch(bridge.url, { method: 'POST', body: JSON.stringify(['PING']) });
    expect(response.status).toBe(401);
    const wrong = await fetch(bridge.url, { method: 'POST', body: JSON.stringify(['PING']), headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('answers 400 to a body that is not a command', async () => {
    const response = await fetch(bridge.url, {
      method: 'POST',
      body: '{"not":"a command"}',
      headers: { authorization: `Bearer ${bridge.token}` },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/JSON array/);
  });
});
