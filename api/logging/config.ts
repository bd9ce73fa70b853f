// Logging settings from the environment (Node `process.env` or Workers `env`). A bad value stops start-up
// with a message naming the variable, as everywhere in the API.
import type { ElasticsearchConnection } from './transport-client.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface ElasticsearchLogConfig extends ElasticsearchConnection {
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

export const defaultDataStream = 'logs-api-default';

type Env = Record<string, unknown>;

function text(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function positiveInteger(env: Env, name: string, fallback: number, minimum = 1): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < minimum || !Number.isSafeInteger(Number(raw))) {
    throw new Error(`${name} must be an integer ≥ ${minimum}, got "${raw}"`);
  }
  return Number(raw);
}

/** Elasticsearch's index name rules, plus the `logs-*` prefix the data stream template matches. */
function dataStreamName(env: Env): string {
  const name = text(env, 'ELASTICSEARCH_DATA_STREAM') ?? defaultDataStream;
  if (!/^logs-[a-z0-9][a-z0-9._+-]*$/.test(name) || name.length > 255 || /[\\/*?"<>| ,#:]/.test(name)) {
    throw new Error(`ELASTICSEARCH_DATA_STREAM must be a lowercase data stream name starting with "logs-" (e.g. ${defaultDataStream}), got "${name}"`);
  }
  return name;
}

export function loggingConfigFromEnv(env: Env): LoggingConfig {
  const level = (text(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(logLevels as readonly string[]).includes(level)) {
    throw new Error(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${level}"`);
  }
  const config: LoggingConfig = { level: level as LogLevel, serviceName: text(env, 'SERVICE_NAME') ?? 'api' };
  const serviceVersion = text(env, 'SERVICE_VERSION');
  if (serviceVersion) config.serviceVersion = serviceVersion;
  const environment = text(env, 'SERVICE_ENVIRONMENT');
  if (environment) config.environment = environment;

  const file = text(env, 'LOG_FILE');
  if (file) {
    config.file = {
      path: file,
      maxBytes: positiveInteger(env, 'LOG_FILE_MAX_BYTES', 10 * 1024 * 1024, 1024),
      backups: positiveInteger(env, 'LOG_FILE_BACKUPS', 5, 0),
    };
  }

  const url = text(env, 'ELASTICSEARCH_URL');
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`ELASTICSEARCH_URL must be an http(s) URL, got "${url}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`ELASTICSEARCH_URL must be an http(s) URL, got "${url}"`);
    const apiKey = text(env, 'ELASTICSEARCH_API_KEY');
    const username = text(env, 'ELASTICSEARCH_USERNAME');
    const password = text(env, 'ELASTICSEARCH_PASSWORD');
    if (apiKey && username) throw new Error('ELASTICSEARCH_API_KEY and ELASTICSEARCH_USERNAME are exclusive: set one way to authenticate');
    if (username && password === undefined) throw new Error('ELASTICSEARCH_PASSWORD must be set with ELASTICSEARCH_USERNAME');
    if (password !== undefined && !username) throw new Error('ELASTICSEARCH_USERNAME must be set with ELASTICSEARCH_PASSWORD');
    config.elasticsearch = {
      url: parsed.href.replace(/\/+$/, ''),
      ...(apiKey ? { apiKey } : {}),
      ...(username ? { username, password: password ?? '' } : {}),
      dataStream: dataStreamName(env),
      maxBufferBytes: positiveInteger(env, 'LOG_BUFFER_MAX_BYTES', 32 * 1024 * 1024, 64 * 1024),
      flushIntervalMs: positiveInteger(env, 'LOG_FLUSH_INTERVAL_MS', 1000, 10),
    };
  }
  return config;
}
