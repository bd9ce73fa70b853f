import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../pushgateway/config/env.js';
import { checkWorkerLimits, loadConfig, readConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      pgliteDir: '.data/pglite',
      logging: { level: 'info', serviceName: 'api' },
      pushIntervalMs: 5000,
      gateway: { port: 9091 },
      rateLimit: { max: 100, windowSeconds: 60 },
      cacheTtlSeconds: 60,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.upstash).toBeUndefined();
    expect(config.pushgatewayUrl).toBeUndefined();
  });

  it('reads every variable, treating blank values as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      UPSTASH_REDIS_REST_URL: 'https://eu1.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 'tok',
      LOG_LEVEL: 'DEBUG',
      SERVICE_NAME: 'api-eu',
      PUSHGATEWAY_URL: 'http://gw:9091/aggregate',
      PUSHGATEWAY_TOKEN: 'push',
      PUSH_INTERVAL_MS: '1000',
      ELASTICSEARCH_URL: 'https://es:9200',
      ELASTICSEARCH_API_KEY: 'key',
      PGLITE_DIR: '   ',
      HYPERDRIVE: { connectionString: 'ignored: not a string' },
    });
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: 'postgres://u:p@db:5432/app',
      upstash: { url: 'https://eu1.upstash.io', token: 'tok' },
      logging: { level: 'debug', serviceName: 'api-eu', elasticsearch: { url: 'https://es:9200', apiKey: 'key' } },
      pushgatewayUrl: 'http://gw:9091/aggregate',
      pushgatewayToken: 'push',
      pushIntervalMs: 1000,
      pgliteDir: '.data/pglite',
    });
  });

  it('pushes with the Pushgateway protocol unless METRICS_PUSH_PROTOCOL says otlp', () => {
    expect(loadConfig({}).metricsPushProtocol).toBe('pushgateway');
    expect(loadConfig({ METRICS_PUSH_PROTOCOL: 'OTLP' }).metricsPushProtocol).toBe('otlp');
    expect(() => loadConfig({ METRICS_PUSH_PROTOCOL: 'otlp-grpc' })).toThrow(/METRICS_PUSH_PROTOCOL must be one of pushgateway, otlp/);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '70000',
        LOG_LEVEL: 'loud',
        PUSH_INTERVAL_MS: 'often',
        UPSTASH_REDIS_REST_URL: 'https://x.io',
        SERVICE_NAME: 'has space',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toHaveLength(5);
    for (const name of ['PORT', 'LOG_LEVEL', 'PUSH_INTERVAL_MS', 'UPSTASH_REDIS_REST_TOKEN', 'SERVICE_NAME'])
      expect(message).toContain(name);
  });

  it('never echoes a URL that may carry credentials', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:s3cret@db/app' })).toThrow(
      /DATABASE_URL must use postgres: or postgresql:, got mysql:/,
    );
    try {
      loadConfig({ DATABASE_URL: 'not a url with s3cret' });
    } catch (error) {
      expect((error as Error).message).toContain('DATABASE_URL');
      expect((error as Error).message).not.toContain('s3cret');
    }
    expect.assertions(3);
  });

  it('reads CLIENT_IP_HEADER as a lower-case header name', () => {
    expect(loadConfig({ CLIENT_IP_HEADER: 'X-Real-IP' }).clientIpHeader).toBe('x-real-ip');
    expect(loadConfig({}).clientIpHeader).toBeUndefined();
    expect(() => loadConfig({ CLIENT_IP_HEADER: 'x real ip' })).toThrow(/CLIENT_IP_HEADER must be a header name/);
  });

  it('refuses half-set credential pairs', () => {
    expect(() => loadConfig({ UPSTASH_REDIS_REST_TOKEN: 't' })).toThrow(/UPSTASH_REDIS_REST_URL must be set/);
    expect(() => loadConfig({ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_USERNAME: 'elastic' })).toThrow(/set together/);
    expect(() => loadConfig({ PORT: '3000.5' })).toThrow(/PORT/);
    expect(() => loadConfig({ PORT: '0' })).toThrow(/PORT/);
  });

  it('reads the in-process gateway settings with the gateway rules, in the same problem list', () => {
    expect(loadConfig({ GATEWAY_PORT: '0' }).gateway.port).toBe(0);
    let error: unknown;
    try {
      loadConfig({ GATEWAY_PORT: '70000', PORT: 'x', GATEWAY_MAX_SERIES: 'many' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems } = error as ConfigError;
    expect(problems).toHaveLength(3);
    expect(problems.filter((problem) => problem.startsWith('GATEWAY_PORT'))).toEqual([
      'GATEWAY_PORT must be an integer from 0 to 65535, got "70000"',
    ]);
  });

  it('keeps the in-process gateway in memory, on HOST unless GATEWAY_HOST is set', () => {
    const config = loadConfig({ HOST: '127.0.0.1', GATEWAY_PUSH_TOKEN: 'push-secret', GATEWAY_ENABLE_ADMIN_API: 'true' });
    expect(config.gateway).toMatchObject({ store: 'memory', host: '127.0.0.1', pushToken: 'push-secret', enableAdminApi: true });
    expect(loadConfig({ HOST: '127.0.0.1', GATEWAY_HOST: '::1' }).gateway.host).toBe('::1');
  });

  it('keeps the in-process gateway on loopback without GATEWAY_PUSH_TOKEN, unless GATEWAY_HOST is set', () => {
    expect(loadConfig({}).gateway.host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).gateway.host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0', GATEWAY_PUSH_TOKEN: 'push-secret' }).gateway.host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0', GATEWAY_HOST: '0.0.0.0' }).gateway.host).toBe('0.0.0.0');
  });
});

describe('checkWorkerLimits', () => {
  const problemsFor = (env: Record<string, string>) => {
    const reader = new EnvReader(env);
    checkWorkerLimits(reader, readConfig(reader));
    return reader.problems;
  };

  it('accepts the defaults', () => {
    expect(problemsFor({ ELASTICSEARCH_URL: 'https://es:9200' })).toEqual([]);
  });

  it('refuses flush windows a waitUntil cannot cover, naming the variables', () => {
    expect(problemsFor({ PUSH_INTERVAL_MS: '60000', LOG_FLUSH_INTERVAL_MS: '20000', ELASTICSEARCH_URL: 'https://es:9200' })).toEqual([
      'PUSH_INTERVAL_MS must be at most 15000 on Workers, got 60000',
      'LOG_FLUSH_INTERVAL_MS must be at most 15000 on Workers, got 20000',
    ]);
  });
});
