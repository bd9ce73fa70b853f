// Our API built up one layer at a time (BENCH_LAYER), served like api/node.ts serves it, to see which layer
// costs what per request: `app` (createApp: request id, routes), `metrics` (+ request metrics),
// `access-log` (+ ECS access log, stdout to /dev/null), `shipping` (+ shipping to ELASTICSEARCH_URL), `pusher`
// (+ the system collectors and the pusher, every 5 s to PUSHGATEWAY_URL, as api/node.ts runs them).
// LOG_ACCESS_SKIP_ROUTES is passed on as api/node.ts reads it. BENCH_ASYNC_HOOK=1 adds one pass-through
// `createApp({ middleware })` hook, which takes /livez off the synchronous path (what any `app.use` costs).
import { serve } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import pino from 'pino';
import type { Sql } from 'postgres';
import { createApp } from '../../api/app.js';
import { createPostgresDatabase } from '../../api/db/postgres.js';
import type { Database } from '../../api/db/types.js';
import { readLoggingConfig } from '../../api/logging/config.js';
import { createNodeLogging, stdoutDestination } from '../../api/logging/node.js';
import { createApiMetrics } from '../../api/observability/metrics.js';
import { createNodeObservability } from '../../api/observability/node.js';
import { instrumentPostgresClient } from '../../api/observability/query-timing.js';
import { createShutdownHooks } from '../../api/shutdown.js';
import { EnvReader } from '../../pushgateway/config/env.js';

const layers = ['app', 'metrics', 'access-log', 'shipping', 'pusher'] as const;
const layer = process.env.BENCH_LAYER as (typeof layers)[number];
if (!layers.includes(layer)) throw new Error(`BENCH_LAYER must be one of ${layers.join(', ')}`);
const depth = layers.indexOf(layer);

const reader = new EnvReader({
  ...(depth >= 3 ? { ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL } : {}),
  LOG_ACCESS_SKIP_ROUTES: process.env.LOG_ACCESS_SKIP_ROUTES,
});
const config = reader.finish(readLoggingConfig(reader));
const logging = createNodeLogging(config, { stdout: stdoutDestination('/dev/null') });
const logger = depth >= 2 ? logging.logger : pino({ level: 'silent' });
const shutdownHooks = createShutdownHooks();
const observability =
  depth >= 4
    ? createNodeObservability({
        config: { logging: config, pushIntervalMs: 5_000, metricsPushProtocol: 'pushgateway', shutdownTimeoutMs: 2_000 },
        logger,
      })
    : undefined;
if (observability) logging.countInto(observability.metrics);
const metrics = observability?.metrics ?? (depth >= 1 ? createApiMetrics() : undefined);
// /livez never touches the database; createApp only needs something of the Database shape. With DATABASE_URL
// (the representative route) a real PostgreSQL pool as api/db/postgres.ts opens it, its queries timed from the
// metrics layer on, as api/node.ts wires it.
const databaseUrl = process.env.DATABASE_URL;
const wrapClient = observability
  ? observability.wrapPostgresClient
  : metrics
    ? (client: Sql) => instrumentPostgresClient(client, metrics)
    : undefined;
const database: Database = databaseUrl
  ? createPostgresDatabase(databaseUrl, wrapClient ? { wrapClient } : {})
  : { db: {} as Database['db'], driver: 'postgres', ping: async () => {}, close: async () => {} };
await observability?.start({ shutdownHooks, push: { url: process.env.PUSHGATEWAY_URL! } });
// The layers as api/node.ts configures them: all observed around createApp's app.fetch.
const observe = {
  ...(metrics ? { metrics } : {}),
  ...(depth >= 2
    ? {
        accessLog: { logger, write: logging.accessLine, ...(config.accessLogSkipRoutes ? { skipRoutes: config.accessLogSkipRoutes } : {}) },
      }
    : {}),
};

const middleware: MiddlewareHandler[] =
  process.env.BENCH_ASYNC_HOOK === '1'
    ? [
        async (_c, next) => {
          await next();
        },
      ]
    : [];
serve({ fetch: createApp({ database, logger, observe, middleware }).fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
process.once(
  'SIGTERM',
  () =>
    void shutdownHooks
      .run({ logger, timeoutMs: 2_000 })
      .then(() => logging.close(2_000))
      .finally(() => process.exit(0)),
);
