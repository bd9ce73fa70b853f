import { describe, expect, it } from 'vitest';
import { ConfigError } from './env.js';
import { defaultGatewayConfig, loadGatewayConfig } from './gateway.js';

describe('loadGatewayConfig', () => {
  it('uses the documented defaults', () => {
    expect(loadGatewayConfig({})).toEqual(defaultGatewayConfig);
    expect(defaultGatewayConfig.port).toBe(9091);
  });

  it('reads every variable', () => {
    expect(
      loadGatewayConfig({
        GATEWAY_PORT: '9999',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PUSH_TOKEN: 't',
        GATEWAY_SCRAPE_USER: 'u',
        GATEWAY_SCRAPE_PASSWORD: 'p',
        GATEWAY_STORE: 'memory',
        GATEWAY_PERSISTENCE_FILE: '/tmp/x',
        GATEWAY_PERSISTENCE_INTERVAL_SECONDS: '30',
        GATEWAY_GROUP_TTL_SECONDS: '60',
        GATEWAY_MAX_BODY_BYTES: '1000',
        GATEWAY_MAX_SERIES: '0',
        GATEWAY_ENABLE_ADMIN_API: 'true',
        GATEWAY_ENABLE_UTF8_NAMES: 'true',
        GATEWAY_MAX_LABEL_VALUE_BYTES: '100',
        GATEWAY_MAX_LABELS_PER_SERIES: '8',
        GATEWAY_MAX_IDEMPOTENCY_BYTES: '1000000',
        GATEWAY_MAX_OPERATION_ID_BYTES: '3000000',
        GATEWAY_MAX_STORED_BYTES: '5000',
        GATEWAY_MAX_OTLP_STREAM_BYTES: '2000000',
        GATEWAY_EXTERNAL_URL: 'https://example.com/pgw',
        GATEWAY_ROUTE_PREFIX: '/gw/',
      }),
    ).toEqual({
      port: 9999,
      host: '127.0.0.1',
      pushToken: 't',
      scrape: { user: 'u', password: 'p' },
      store: 'memory',
      upstash: undefined,
      redisTcp: undefined,
      redisKeyPrefix: '{pushgateway}:',
      durableObjectShards: 1,
      persistenceFile: '/tmp/x',
      persistenceIntervalSeconds: 30,
      groupTtlSeconds: 60,
      maxBodyBytes: 1000,
      maxSeries: 0,
      maxLabelValueBytes: 100,
      maxLabelsPerSeries: 8,
      maxIdempotencyBytes: 1_000_000,
      maxOperationIdBytes: 3_000_000,
      maxStoredBytes: 5000,
      maxOtlpStreamBytes: 2_000_000,
      enableAdminApi: true,
      enableUtf8Names: true,
      externalUrl: 'https://example.com/pgw',
      routePrefix: '/gw',
    });
  });

  it('reads the Upstash endpoint for the Redis store', () => {
    const config = loadGatewayConfig({
      GATEWAY_STORE: 'redis',
      UPSTASH_REDIS_REST_URL: 'https://eu1.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 'tok',
    });
    expect(config.upstash).toEqual({ url: 'https://eu1.upstash.io', token: 'tok' });
    expect(config.redisTcp).toBeUndefined();
  });

  it('reads a direct Redis address, which selects the Redis store and wins over Upstash', () => {
    const single = loadGatewayConfig({ GATEWAY_REDIS_URL: 'rediss://:secret@redis.internal:6380', UPSTASH_REDIS_REST_URL: 'https://x' });
    expect([single.store, single.redisTcp, single.upstash]).toEqual(['redis', { url: 'rediss://:secret@redis.internal:6380' }, undefined]);
    const cluster = loadGatewayConfig({ GATEWAY_STORE: 'redis', GATEWAY_REDIS_CLUSTER_NODES: 'redis://a:7000, redis://b:7001' });
    expect(cluster.redisTcp).toEqual({ clusterNodes: ['redis://a:7000', 'redis://b:7001'] });
  });

  it('never echoes a bad Redis URL (it may hold the password)', () => {
    expect(() => loadGatewayConfig({ GATEWAY_REDIS_CLUSTER_NODES: 'redis://:hunter2@a:1,http://:hunter2@b:2' })).toThrow(
      /^(?![\s\S]*hunter2)[\s\S]*GATEWAY_REDIS_CLUSTER_NODES/,
    );
  });

  it.each([
    [{ GATEWAY_PORT: 'x' }, 'GATEWAY_PORT'],
    [{ GATEWAY_PORT: '70000' }, 'GATEWAY_PORT'],
    [{ GATEWAY_STORE: 'file' }, 'GATEWAY_STORE'],
    [{ GATEWAY_GROUP_TTL_SECONDS: '-1' }, 'GATEWAY_GROUP_TTL_SECONDS'],
    [{ GATEWAY_MAX_BODY_BYTES: '0' }, 'GATEWAY_MAX_BODY_BYTES'],
    [{ GATEWAY_MAX_SERIES: '1.5' }, 'GATEWAY_MAX_SERIES'],
    [{ GATEWAY_ENABLE_ADMIN_API: 'yes' }, 'GATEWAY_ENABLE_ADMIN_API'],
    [{ GATEWAY_ENABLE_UTF8_NAMES: 'on' }, 'GATEWAY_ENABLE_UTF8_NAMES'],
    [{ GATEWAY_MAX_LABEL_VALUE_BYTES: '-1' }, 'GATEWAY_MAX_LABEL_VALUE_BYTES'],
    [{ GATEWAY_MAX_LABELS_PER_SERIES: 'many' }, 'GATEWAY_MAX_LABELS_PER_SERIES'],
    [{ GATEWAY_MAX_IDEMPOTENCY_BYTES: '10' }, 'GATEWAY_MAX_IDEMPOTENCY_BYTES'],
    [{ GATEWAY_MAX_OPERATION_ID_BYTES: '10' }, 'GATEWAY_MAX_OPERATION_ID_BYTES'],
    [{ GATEWAY_MAX_STORED_BYTES: '-5' }, 'GATEWAY_MAX_STORED_BYTES'],
    [{ GATEWAY_SCRAPE_USER: 'u' }, 'GATEWAY_SCRAPE_PASSWORD'],
    [{ GATEWAY_STORE: 'redis' }, 'UPSTASH_REDIS_REST_URL'],
    [{ GATEWAY_REDIS_URL: 'http://x:6379' }, 'GATEWAY_REDIS_URL'],
    [{ GATEWAY_REDIS_KEY_PREFIX: 'gw:' }, 'GATEWAY_REDIS_KEY_PREFIX'],
    [{ GATEWAY_DO_SHARDS: '0' }, 'GATEWAY_DO_SHARDS'],
    [{ GATEWAY_REDIS_KEY_PREFIX: '{}gw:' }, 'GATEWAY_REDIS_KEY_PREFIX'],
    [{ GATEWAY_STORE: 'memory', GATEWAY_REDIS_URL: 'redis://x:6379' }, 'GATEWAY_STORE=redis'],
    [{ GATEWAY_REDIS_URL: 'redis://x:6379', GATEWAY_REDIS_CLUSTER_NODES: 'redis://y:6379' }, 'not both'],
    [{ GATEWAY_REDIS_URL: 'redis://x:6379', GATEWAY_PERSISTENCE_FILE: '/tmp/x' }, 'GATEWAY_PERSISTENCE_FILE'],
    [
      { GATEWAY_STORE: 'redis', UPSTASH_REDIS_REST_URL: 'https://x', UPSTASH_REDIS_REST_TOKEN: 't', GATEWAY_PERSISTENCE_FILE: '/tmp/x' },
      'GATEWAY_PERSISTENCE_FILE',
    ],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => loadGatewayConfig(env)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(name);
  });

  it('names every bad variable at once', () => {
    expect(() => loadGatewayConfig({ GATEWAY_PORT: 'x', GATEWAY_MAX_SERIES: 'y', GATEWAY_STORE: 'file' })).toThrow(
      /GATEWAY_STORE[\s\S]*GATEWAY_PORT[\s\S]*GATEWAY_MAX_SERIES/,
    );
  });
});
