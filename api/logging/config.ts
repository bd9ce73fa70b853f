// Logging settings. The shared variables (LOG_LEVEL, SERVICE_NAME, LOG_FILE, ELASTICSEARCH_URL and its
// credentials) are validated by api/config.ts; this reads the logging-only rows on top of them and reports a
// bad value as a problem naming the variable, so start-up lists it with every other one.
import { readEnv as read, readIntegerEnv, type Env } from '../env.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ElasticsearchLogConfig {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** Per-request timeout; a timed-out bulk is retried (default 30 s). */
  requestTimeoutMs?: number;
  dataStream: string;
  maxBufferBytes: number;
  flushIntervalMs: number;
}

export interface LogFileConfig {
  path: string;
  maxBytes: number;
  backups: number;
}

export interface LoggingConfig {
  level: LogLevel;
  serviceName: string;
  serviceVersion?: string;
  environment?: string;
  file?: LogFileConfig;
  elasticsearch?: ElasticsearchLogConfig;
}

/** What api/config.ts has already validated. */
export interface BaseLoggingSettings {
  logLevel: LogLevel;
  serviceName: string;
  logFile?: string;
  elasticsearch?: { url: string; apiKey?: string; username?: string; password?: string };
}

export const defaultDataStream = 'logs-api-default';

export function loggingSettings(base: BaseLoggingSettings, env: Env, problems: string[]): LoggingConfig {
  const integer = (name: string, fallback: number, minimum: number) => readIntegerEnv(env, problems, name, fallback, minimum);

  const config: LoggingConfig = { level: base.logLevel, serviceName: base.serviceName };
  const serviceVersion = read(env, 'SERVICE_VERSION');
  if (serviceVersion) config.serviceVersion = serviceVersion;
  const environment = read(env, 'SERVICE_ENVIRONMENT');
  if (environment) config.environment = environment;

  if (base.logFile) {
    config.file = {
      path: base.logFile,
      maxBytes: integer('LOG_FILE_MAX_BYTES', 10 * 1024 * 1024, 1024),
      backups: integer('LOG_FILE_BACKUPS', 5, 0),
    };
  }

  // Elasticsearch's index name rules, and the `logs-` prefix of a data stream the template can match.
  const dataStream = read(env, 'ELASTICSEARCH_DATA_STREAM') ?? defaultDataStream;
  if (!/^logs-[a-z0-9][a-z0-9._+-]*$/.test(dataStream) || dataStream.length > 255) {
    problems.push(`ELASTICSEARCH_DATA_STREAM must be a lowercase data stream name starting with "logs-" (e.g. ${defaultDataStream}), got "${dataStream}"`);
  }
  const maxBufferBytes = integer('LOG_BUFFER_MAX_BYTES', 32 * 1024 * 1024, 64 * 1024);
  const flushIntervalMs = integer('LOG_FLUSH_INTERVAL_MS', 1000, 10);
  if (base.elasticsearch) {
    config.elasticsearch = { ...base.elasticsearch, url: base.elasticsearch.url.replace(/\/+$/, ''), dataStream, maxBufferBytes, flushIntervalMs };
  }
  return config;
}
