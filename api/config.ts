// The API's configuration (DESIGN.md "Environment"), read with the shared EnvReader from Node's `process.env`
// or a Worker's `env` bindings (non-string bindings such as HYPERDRIVE are ignored). Every problem is
// collected, and start-up stops with one message naming each variable.

import type { PushProtocol } from '../pushgateway/client/index.js';
import { type Env, EnvReader } from '../pushgateway/config/env.js';
import { type GatewayConfig, readGatewayConfig } from '../pushgateway/config/gateway.js';
import { type LoggingConfig, readLoggingConfig } from './logging/config.js';

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
  /** Level, service name, file rotation and Elasticsearch shipping. */
  logging: LoggingConfig;
  pushgatewayUrl?: string;
  pushgatewayToken?: string;
  pushIntervalMs: number;
  /** How metrics are pushed: the Pushgateway protocol to /aggregate, or OTLP/HTTP protobuf to /v1/metrics. */
  metricsPushProtocol: PushProtocol;
  /** The gateway `npm start` runs in its own process when PUSHGATEWAY_URL is unset (GATEWAY_* variables). */
  gateway: GatewayConfig;
  rateLimit: { max: number; windowSeconds: number };
  cacheTtlSeconds: number;
  healthCheckTimeoutMs: number;
  shutdownTimeoutMs: number;
}

const loopback = '127.0.0.1';

/** Reads the API's variables into `reader`; problems are recorded there, not thrown. */
export function readConfig(reader: EnvReader): Config {
  const port = reader.integer('PORT', 3000, 1, 65535);
  const host = reader.string('HOST') ?? '0.0.0.0';
  const clientIpHeader = reader.string('CLIENT_IP_HEADER')?.toLowerCase();
  if (clientIpHeader !== undefined && !/^[a-z0-9-]{1,64}$/.test(clientIpHeader)) {
    reader.problem(`CLIENT_IP_HEADER must be a header name, got "${clientIpHeader}"`);
  }
  const databaseUrl = reader.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const pgliteDir = reader.string('PGLITE_DIR') ?? '.data/pglite';

  const upstashUrl = reader.url('UPSTASH_REDIS_REST_URL', ['http:', 'https:']);
  const upstashToken = reader.string('UPSTASH_REDIS_REST_TOKEN');
  if (upstashUrl && !upstashToken) reader.problem('UPSTASH_REDIS_REST_TOKEN must be set when UPSTASH_REDIS_REST_URL is set');
  if (!reader.string('UPSTASH_REDIS_REST_URL') && upstashToken) {
    reader.problem('UPSTASH_REDIS_REST_URL must be set when UPSTASH_REDIS_REST_TOKEN is set');
  }

  const logging = readLoggingConfig(reader);
  const pushgatewayUrl = reader.url('PUSHGATEWAY_URL', ['http:', 'https:']);
  const pushgatewayToken = reader.string('PUSHGATEWAY_TOKEN');
  const gateway = readGatewayConfig(reader);

  const config: Config = {
    port,
    host,
    pgliteDir,
    logging,
    pushIntervalMs: reader.integer('PUSH_INTERVAL_MS', 5_000, 100, 3_600_000),
    metricsPushProtocol: reader.oneOf('METRICS_PUSH_PROTOCOL', ['pushgateway', 'otlp'], 'pushgateway'),
    // The in-process gateway lives and dies with the API process, so it keeps its groups in memory. Unless
    // GATEWAY_HOST says otherwise it binds the API's interface, but only with GATEWAY_PUSH_TOKEN set:
    // without one anybody who reaches it could push and delete, so it stays on loopback.
    gateway: {
      ...gateway,
      store: 'memory',
      upstash: undefined,
      redisTcp: undefined,
      host: gateway.host ?? (gateway.pushToken ? host : loopback),
    },
    rateLimit: {
      max: reader.integer('RATE_LIMIT_MAX', 100, 1, 1_000_000),
      windowSeconds: reader.integer('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    },
    cacheTtlSeconds: reader.integer('CACHE_TTL_SECONDS', 60, 1, 86_400),
    healthCheckTimeoutMs: reader.integer('HEALTH_CHECK_TIMEOUT_MS', 1_000, 10, 60_000),
    shutdownTimeoutMs: reader.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 300_000),
  };
  if (databaseUrl) config.databaseUrl = databaseUrl;
  if (clientIpHeader) config.clientIpHeader = clientIpHeader;
  if (upstashUrl && upstashToken) config.upstash = { url: upstashUrl, token: upstashToken };
  if (pushgatewayUrl) config.pushgatewayUrl = pushgatewayUrl;
  if (pushgatewayToken) config.pushgatewayToken = pushgatewayToken;
  return config;
}

/**
 * Workers: metric increments wait at most PUSH_INTERVAL_MS and log lines at most LOG_FLUSH_INTERVAL_MS for their
 * flush, which then runs in the `waitUntil` of the request that opened the window. waitUntil lasts 30 s after the
 * response, so a window must leave room for its flush (5 s per push attempt, 10 s for a log flush).
 */
export const workerMaxFlushDelayMs = 15_000;

/** What a Worker cannot honour of an otherwise valid configuration, recorded into `reader`. */
export function checkWorkerLimits(reader: EnvReader, config: Config): void {
  if (config.pushIntervalMs > workerMaxFlushDelayMs) {
    reader.problem(`PUSH_INTERVAL_MS must be at most ${workerMaxFlushDelayMs} on Workers, got ${config.pushIntervalMs}`);
  }
  const logDelay = config.logging.elasticsearch?.flushIntervalMs;
  if (logDelay !== undefined && logDelay > workerMaxFlushDelayMs) {
    reader.problem(`LOG_FLUSH_INTERVAL_MS must be at most ${workerMaxFlushDelayMs} on Workers, got ${logDelay}`);
  }
}

/** The API's settings from an environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env): Config {
  const reader = new EnvReader(env);
  return reader.finish(readConfig(reader));
}
