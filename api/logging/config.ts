// Logging settings: level, service fields, the rotated file and Elasticsearch shipping. Read into the API's
// EnvReader, so a bad value is reported together with every other configuration problem.
import type { EnvReader } from '../../pushgateway/config/env.js';
import type { ElasticsearchConnection } from './bulk-protocol.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface ElasticsearchLogConfig extends ElasticsearchConnection {
  dataStream: string;
  maxBufferBytes: number;
  /** A batch goes out once it holds this many bytes (Node: the drain starts; Workers: the request that reaches it flushes). */
  maxBatchBytes: number;
  /** Longest a line waits for its batch (Node: the drain timer; Workers: the flush window). */
  flushIntervalMs: number;
}

export interface LogFileConfig {
  path: string;
  maxBytes: number;
  backups: number;
}

export interface LoggingConfig {
  level: LogLevel;
  /** Workers: lowest level also printed to the console (Workers Logs); default LOG_LEVEL, `warn` while shipping. */
  consoleLevel?: LogLevel;
  serviceName: string;
  serviceVersion?: string;
  environment?: string;
  file?: LogFileConfig;
  elasticsearch?: ElasticsearchLogConfig;
  /** Route templates (`/livez`) whose successful requests (status < 400) write no access line. */
  accessLogSkipRoutes?: string[];
}

export const defaultDataStream = 'logs-api-default';

/** Reads the logging variables into `reader`; problems are recorded there, not thrown. */
export function readLoggingConfig(reader: EnvReader): LoggingConfig {
  const level = reader.oneOf('LOG_LEVEL', logLevels, 'info');
  const serviceName = reader.string('SERVICE_NAME') ?? 'api';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(serviceName)) {
    reader.problem(`SERVICE_NAME must be 1-64 letters, digits, "_", "." or "-", got "${serviceName}"`);
  }
  const elasticsearchUrl = reader.url('ELASTICSEARCH_URL', ['http:', 'https:']);
  const apiKey = reader.string('ELASTICSEARCH_API_KEY');
  const username = reader.string('ELASTICSEARCH_USERNAME');
  const password = reader.string('ELASTICSEARCH_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    reader.problem('ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD must be set together');
  }
  if (apiKey && username) reader.problem('set either ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD, not both');

  // Off by default: every request gets its line. Probes polled every few seconds are the usual candidates.
  const accessLogSkipRoutes = (reader.string('LOG_ACCESS_SKIP_ROUTES') ?? '')
    .split(',')
    .map((route) => route.trim())
    .filter((route) => route !== '');
  for (const route of accessLogSkipRoutes)
    if (!route.startsWith('/'))
      reader.problem(`LOG_ACCESS_SKIP_ROUTES takes route templates starting with "/" (e.g. /livez), got "${route}"`);

  const config: LoggingConfig = { level, serviceName };
  if (accessLogSkipRoutes.length > 0) config.accessLogSkipRoutes = accessLogSkipRoutes;
  if (reader.string('LOG_CONSOLE_LEVEL') !== undefined) config.consoleLevel = reader.oneOf('LOG_CONSOLE_LEVEL', logLevels, 'info');
  const serviceVersion = reader.string('SERVICE_VERSION');
  if (serviceVersion) config.serviceVersion = serviceVersion;
  const environment = reader.string('SERVICE_ENVIRONMENT');
  if (environment) config.environment = environment;

  const logFile = reader.string('LOG_FILE');
  if (logFile) {
    config.file = {
      path: logFile,
      maxBytes: reader.integer('LOG_FILE_MAX_BYTES', 10 * 1024 * 1024, 1024),
      backups: reader.integer('LOG_FILE_BACKUPS', 5, 0),
    };
  }

  // Elasticsearch's index name rules, and the `logs-` prefix of a data stream the template can match.
  const dataStream = reader.string('ELASTICSEARCH_DATA_STREAM') ?? defaultDataStream;
  if (!/^logs-[a-z0-9][a-z0-9._+-]*$/.test(dataStream) || dataStream.length > 255) {
    reader.problem(
      `ELASTICSEARCH_DATA_STREAM must be a lowercase data stream name starting with "logs-" (e.g. ${defaultDataStream}), got "${dataStream}"`,
    );
  }
  const maxBufferBytes = reader.integer('LOG_BUFFER_MAX_BYTES', 32 * 1024 * 1024, 64 * 1024);
  const maxBatchBytes = reader.integer('LOG_BATCH_MAX_BYTES', 2 * 1024 * 1024, 4 * 1024);
  if (maxBatchBytes > maxBufferBytes)
    reader.problem(`LOG_BATCH_MAX_BYTES (${maxBatchBytes}) must not exceed LOG_BUFFER_MAX_BYTES (${maxBufferBytes})`);
  const flushIntervalMs = reader.integer('LOG_FLUSH_INTERVAL_MS', 1000, 10);
  if (elasticsearchUrl) {
    config.elasticsearch = { url: elasticsearchUrl.replace(/\/+$/, ''), dataStream, maxBufferBytes, maxBatchBytes, flushIntervalMs };
    if (apiKey) config.elasticsearch.apiKey = apiKey;
    if (username && password) Object.assign(config.elasticsearch, { username, password });
  }
  return config;
}
