import { describe, expect, it } from 'vitest';
import { EnvReader } from '../../pushgateway/config/env.js';
import { readLoggingConfig } from './config.js';

function parse(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const config = readLoggingConfig(reader);
  return { config, problems: reader.problems };
}

describe('readLoggingConfig', () => {
  it('defaults: no file, no shipping', () => {
    expect(parse({})).toEqual({ config: { level: 'info', serviceName: 'api' }, problems: [] });
  });

  it('reads level, service fields, file rotation, data stream and buffer', () => {
    const { config, problems } = parse({
      LOG_FILE_MAX_BYTES: '1048576',
      LOG_FILE_BACKUPS: '3',
      ELASTICSEARCH_DATA_STREAM: 'logs-api-staging',
      LOG_BUFFER_MAX_BYTES: '1048576',
      LOG_BATCH_MAX_BYTES: '65536',
      LOG_FLUSH_INTERVAL_MS: '250',
      SERVICE_VERSION: '1.4.0',
      SERVICE_ENVIRONMENT: 'staging',
      LOG_LEVEL: 'debug',
      SERVICE_NAME: 'orders',
      LOG_FILE: '/var/log/api/api.log',
      ELASTICSEARCH_URL: 'http://127.0.0.1:9200/',
      ELASTICSEARCH_API_KEY: 'abc==',
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({
      level: 'debug',
      serviceName: 'orders',
      serviceVersion: '1.4.0',
      environment: 'staging',
      file: { path: '/var/log/api/api.log', maxBytes: 1048576, backups: 3 },
      elasticsearch: {
        url: 'http://127.0.0.1:9200',
        apiKey: 'abc==',
        dataStream: 'logs-api-staging',
        maxBufferBytes: 1048576,
        maxBatchBytes: 65536,
        flushIntervalMs: 250,
      },
    });
  });

  it('defaults the data stream to logs-api-default, a 32 MiB buffer and a 1 s flush interval', () => {
    expect(
      parse({ ELASTICSEARCH_URL: 'https://es:9243', ELASTICSEARCH_USERNAME: 'logs_writer', ELASTICSEARCH_PASSWORD: 'pw' }).config
        .elasticsearch,
    ).toEqual({
      url: 'https://es:9243',
      username: 'logs_writer',
      password: 'pw',
      dataStream: 'logs-api-default',
      maxBufferBytes: 32 * 1024 * 1024,
      maxBatchBytes: 2 * 1024 * 1024,
      flushIntervalMs: 1000,
    });
  });

  it('reads LOG_ACCESS_SKIP_ROUTES as a list of route templates and refuses anything else', () => {
    expect(parse({ LOG_ACCESS_SKIP_ROUTES: ' /livez, /api/health ,' }).config.accessLogSkipRoutes).toEqual(['/livez', '/api/health']);
    expect(parse({ LOG_ACCESS_SKIP_ROUTES: 'livez' }).problems).toEqual([
      'LOG_ACCESS_SKIP_ROUTES takes route templates starting with "/" (e.g. /livez), got "livez"',
    ]);
  });

  it('names each bad variable once', () => {
    const { problems } = parse({
      LOG_FILE_MAX_BYTES: '10MB',
      LOG_FILE_BACKUPS: '-1',
      ELASTICSEARCH_DATA_STREAM: 'Metrics-API',
      LOG_BUFFER_MAX_BYTES: '100',
      LOG_FLUSH_INTERVAL_MS: 'soon',
      LOG_FILE: '/tmp/x.log',
    });
    expect(problems).toHaveLength(5);
    for (const [index, name] of [
      'LOG_FILE_MAX_BYTES',
      'LOG_FILE_BACKUPS',
      'ELASTICSEARCH_DATA_STREAM',
      'LOG_BUFFER_MAX_BYTES',
      'LOG_FLUSH_INTERVAL_MS',
    ].entries()) {
      expect(problems[index]).toContain(name);
    }
  });

  it('reads LOG_CONSOLE_LEVEL only when set', () => {
    expect(parse({ LOG_CONSOLE_LEVEL: 'WARN' }).config.consoleLevel).toBe('warn');
    expect(parse({}).config.consoleLevel).toBeUndefined();
    expect(parse({ LOG_CONSOLE_LEVEL: 'loud' }).problems).toEqual([
      'LOG_CONSOLE_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });

  it('refuses a batch larger than the buffer that holds it', () => {
    const { problems } = parse({ LOG_BUFFER_MAX_BYTES: '65536', LOG_BATCH_MAX_BYTES: '131072' });
    expect(problems).toEqual(['LOG_BATCH_MAX_BYTES (131072) must not exceed LOG_BUFFER_MAX_BYTES (65536)']);
  });

  it('refuses data stream names the logs-api template or Elasticsearch would not take', () => {
    for (const name of ['metrics-api-default', 'logs-API', 'logs-a b', 'logs-', 'logs-#x']) {
      expect(parse({ ELASTICSEARCH_DATA_STREAM: name }).problems).toHaveLength(1);
    }
  });
});
