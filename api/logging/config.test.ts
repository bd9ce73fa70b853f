import { describe, expect, it } from 'vitest';
import { loggingConfigFromEnv } from './config.js';

describe('loggingConfigFromEnv', () => {
  it('defaults: info, service "api", no file, no shipping', () => {
    expect(loggingConfigFromEnv({})).toEqual({ level: 'info', serviceName: 'api' });
  });

  it('reads file rotation and Elasticsearch settings', () => {
    expect(
      loggingConfigFromEnv({
        LOG_LEVEL: 'DEBUG',
        SERVICE_NAME: 'orders',
        LOG_FILE: '/var/log/api/api.log',
        LOG_FILE_MAX_BYTES: '1048576',
        LOG_FILE_BACKUPS: '3',
        ELASTICSEARCH_URL: 'http://127.0.0.1:9200/',
        ELASTICSEARCH_API_KEY: 'abc==',
        ELASTICSEARCH_DATA_STREAM: 'logs-api-staging',
        LOG_BUFFER_MAX_BYTES: '1048576',
      }),
    ).toEqual({
      level: 'debug',
      serviceName: 'orders',
      file: { path: '/var/log/api/api.log', maxBytes: 1048576, backups: 3 },
      elasticsearch: { url: 'http://127.0.0.1:9200', apiKey: 'abc==', dataStream: 'logs-api-staging', maxBufferBytes: 1048576, flushIntervalMs: 1000 },
    });
  });

  it('uses logs-api-default and basic auth when asked', () => {
    expect(loggingConfigFromEnv({ ELASTICSEARCH_URL: 'https://es.example:9243', ELASTICSEARCH_USERNAME: 'logs_writer', ELASTICSEARCH_PASSWORD: 'pw' }).elasticsearch).toMatchObject({
      dataStream: 'logs-api-default',
      username: 'logs_writer',
      password: 'pw',
    });
  });

  it.each([
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ LOG_FILE: '/tmp/x.log', LOG_FILE_MAX_BYTES: '10MB' }, 'LOG_FILE_MAX_BYTES'],
    [{ LOG_FILE: '/tmp/x.log', LOG_FILE_BACKUPS: '-1' }, 'LOG_FILE_BACKUPS'],
    [{ ELASTICSEARCH_URL: 'not a url' }, 'ELASTICSEARCH_URL'],
    [{ ELASTICSEARCH_URL: 'ftp://es:21' }, 'ELASTICSEARCH_URL'],
    [{ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_DATA_STREAM: 'Logs-API' }, 'ELASTICSEARCH_DATA_STREAM'],
    [{ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_DATA_STREAM: 'metrics-api-default' }, 'ELASTICSEARCH_DATA_STREAM'],
    [{ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_USERNAME: 'u' }, 'ELASTICSEARCH_PASSWORD'],
    [{ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_PASSWORD: 'p' }, 'ELASTICSEARCH_USERNAME'],
    [{ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_API_KEY: 'k', ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: 'p' }, 'ELASTICSEARCH_API_KEY'],
    [{ ELASTICSEARCH_URL: 'http://es:9200', LOG_BUFFER_MAX_BYTES: '100' }, 'LOG_BUFFER_MAX_BYTES'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(() => loggingConfigFromEnv(env)).toThrow(variable);
  });

  it('never puts a secret value in its error messages', () => {
    expect(() => loggingConfigFromEnv({ ELASTICSEARCH_URL: 'http://es:9200', ELASTICSEARCH_API_KEY: 'TOPSECRET', ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: 'p' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('TOPSECRET') }),
    );
  });
});
