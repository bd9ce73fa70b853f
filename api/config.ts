// The API's configuration, parsed from environment variables (DESIGN.md "Environment"). One parser for
// Node's `process.env` and a Worker's `env` bindings (non-string bindings such as HYPERDRIVE are
// ignored here). Every problem is collected, and start-up stops with a message naming each variable.

import { readEnv as read, readIntegerEnv, type Env } from './env.js';
import { loggingSettings, type LoggingConfig } from './logging/config.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface ElasticsearchConfig {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
}

export interface Config {
  port: number;
  /** Interface the Node server binds; 0.0.0.0 by default so containers are reachable. */
  host: string;
  /**
   * Node behind a reverse proxy: the request header holding the client address (e.g. `x-real-ip`), which
   * the proxy must overwrite. Unset: the socket address. Used as the rate-limit key.
   */
  clientIpHeader?: string;
  databaseUrl?: string;
  /** PGlite data folder when DATABASE_URL is unset; `memory://` keeps it in memory. */
  pgliteDir: string;
  upstash?: { url: string; token: string };
  logLevel: LogLevel;
  serviceName: string;
  logFile?: string;
  elasticsearch?: ElasticsearchConfig;
  /** Logger, file rotation and Elasticsearch shipping settings (api/logging/config.ts reads the logging-only rows). */
  logging: LoggingConfig;
  pushgatewayUrl?: string;
  pushgatewayToken?: string;
  pushIntervalMs: number;
  /** Port of the in-process gateway `npm start` runs when PUSHGATEWAY_URL is unset. */
  gatewayPort: number;
  rateLimit: { max: number; windowSeconds: number };
  cacheTtlSeconds: number;
  healthCheckTimeoutMs: number;
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(env: Env): Config {
  const problems: string[] = [];

  const integer = (name: string, fallback: number, min: number, max: number) => readIntegerEnv(env, problems, name, fallback, min, max);

  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = read(env, name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(`${name} must be a URL (${protocols.join(' or ')}), got a value that is not one`);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      // Never echo the value: URLs often carry credentials.
      problems.push(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
      return undefined;
    }
    return raw;
  };

  const port = integer('PORT', 3000, 1, 65535);
  const gatewayPort = integer('GATEWAY_PORT', 9091, 1, 65535);
  const host = read(env, 'HOST') ?? '0.0.0.0';
  const clientIpHeader = read(env, 'CLIENT_IP_HEADER')?.toLowerCase();
  if (clientIpHeader !== undefined && !/^[a-z0-9-]{1,64}$/.test(clientIpHeader)) {
    problems.push(`CLIENT_IP_HEADER must be a header name, got "${clientIpHeader}"`);
  }
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const pgliteDir = read(env, 'PGLITE_DIR') ?? '.data/pglite';

  const upstashUrl = url('UPSTASH_REDIS_REST_URL', ['http:', 'https:']);
  const upstashToken = read(env, 'UPSTASH_REDIS_REST_TOKEN');
  if (upstashUrl && !upstashToken) problems.push('UPSTASH_REDIS_REST_TOKEN must be set when UPSTASH_REDIS_REST_URL is set');
  if (!read(env, 'UPSTASH_REDIS_REST_URL') && upstashToken) {
    problems.push('UPSTASH_REDIS_REST_URL must be set when UPSTASH_REDIS_REST_TOKEN is set');
  }

  const rawLevel = read(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  const logLevel = (logLevels as readonly string[]).includes(rawLevel) ? (rawLevel as LogLevel) : 'info';
  if (logLevel !== rawLevel) problems.push(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${rawLevel}"`);

  const serviceName = read(env, 'SERVICE_NAME') ?? 'api';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(serviceName)) {
    problems.push(`SERVICE_NAME must be 1-64 letters, digits, "_", "." or "-", got "${serviceName}"`);
  }

  const elasticsearchUrl = url('ELASTICSEARCH_URL', ['http:', 'https:']);
  const apiKey = read(env, 'ELASTICSEARCH_API_KEY');
  const username = read(env, 'ELASTICSEARCH_USERNAME');
  const password = read(env, 'ELASTICSEARCH_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    problems.push('ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD must be set together');
  }
  if (apiKey && username) problems.push('set either ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD, not both');

  const config: Config = {
    port,
    host,
    pgliteDir,
    logLevel,
    serviceName,
    pushIntervalMs: integer('PUSH_INTERVAL_MS', 5_000, 100, 3_600_000),
    gatewayPort,
    rateLimit: {
      max: integer('RATE_LIMIT_MAX', 100, 1, 1_000_000),
      windowSeconds: integer('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    },
    cacheTtlSeconds: integer('CACHE_TTL_SECONDS', 60, 1, 86_400),
    healthCheckTimeoutMs: integer('HEALTH_CHECK_TIMEOUT_MS', 1_000, 10, 60_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 300_000),
    logging: { level: logLevel, serviceName },
  };
  if (databaseUrl) config.databaseUrl = databaseUrl;
  if (clientIpHeader) config.clientIpHeader = clientIpHeader;
  if (upstashUrl && upstashToken) config.upstash = { url: upstashUrl, token: upstashToken };
  const logFile = read(env, 'LOG_FILE');
  if (logFile) config.logFile = logFile;
  if (elasticsearchUrl) {
    config.elasticsearch = { url: elasticsearchUrl };
    if (apiKey) config.elasticsearch.apiKey = apiKey;
    if (username && password) Object.assign(config.elasticsearch, { username, password });
  }
  config.logging = loggingSettings(config, env, problems);
  const pushgatewayUrl = url('PUSHGATEWAY_URL', ['http:', 'https:']);
  if (pushgatewayUrl) config.pushgatewayUrl = pushgatewayUrl;
  const pushgatewayToken = read(env, 'PUSHGATEWAY_TOKEN');
  if (pushgatewayToken) config.pushgatewayToken = pushgatewayToken;

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
