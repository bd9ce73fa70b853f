// Observability for the Node entry: the registry, the request middleware, query timing for whichever database
// driver is used, the collectors on an interval, and the pusher — every PUSH_INTERVAL_MS and once more at
// shutdown, to the gateway the Node entry names (PUSHGATEWAY_URL, or the one it runs in this process).
import { hostname } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import { MetricsPusher, type PusherLogger } from '../../pushgateway/client/index.js';
import type { Config } from '../config.js';
import type { ShutdownHooks } from '../shutdown.js';
import { postgresCollector, postgresRunQuery, type RunQuery, tagPostgresConnections } from './collectors/postgres.js';
import { redisCollector } from './collectors/redis.js';
import { type Collector, type CollectorLogger, startCollectors } from './collectors/scheduler.js';
import { systemCollectors } from './collectors/system.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { instrumentPgliteClient, instrumentPostgresClient } from './query-timing.js';

type ObservabilityConfig = Pick<Config, 'logging' | 'pushIntervalMs' | 'metricsPushProtocol' | 'upstash' | 'shutdownTimeoutMs'>;

/** Where the pusher sends this instance's metrics. */
export interface PushTarget {
  url: string;
  token?: string;
}

export interface NodeObservability {
  metrics: ApiMetrics;
  /** This instance's id: the `instance` grouping label of its gauges. */
  instance: string;
  /** For openDatabase: wraps the postgres.js client (migration client included) so every statement is timed. */
  wrapPostgresClient(raw: Sql): Sql;
  wrapPgliteClient(raw: PGlite): PGlite;
  /** Starts collectors and pusher; registers the final push as a shutdown hook. */
  start(options: { shutdownHooks: ShutdownHooks; push: PushTarget }): Promise<void>;
}

export function createNodeObservability({
  config,
  logger,
}: {
  config: ObservabilityConfig;
  logger: PusherLogger & CollectorLogger;
}): NodeObservability {
  const metrics = createApiMetrics(undefined, { redis: config.upstash !== undefined });
  const instance = `${hostname()}:${process.pid}`;
  const applicationName = `${config.logging.serviceName} ${instance}`;
  // The app's raw client, for the Postgres collector: its bookkeeping query is not app traffic in db_queries_total.
  // (The migration client is wrapped first and replaced by the app's pool.)
  let statsQuery: { run: RunQuery; applicationName?: string; embedded?: boolean } | undefined;

  return {
    metrics,
    instance,
    wrapPostgresClient(raw) {
      tagPostgresConnections(raw, applicationName);
      statsQuery = { run: postgresRunQuery(raw), applicationName };
      return instrumentPostgresClient(raw, metrics);
    },
    wrapPgliteClient(raw) {
      // Embedded: one in-process connection for the lifetime of the app.
      metrics.databaseConnections.set(1);
      statsQuery = { run: async (text, params) => (await raw.query<Record<string, unknown>>(text, params)).rows, embedded: true };
      return instrumentPgliteClient(raw, metrics);
    },
    async start({ shutdownHooks, push }) {
      const collectors: Collector[] = [...systemCollectors(metrics)];
      if (statsQuery) {
        const { run, ...options } = statsQuery;
        collectors.push(postgresCollector(run, metrics, options));
      }
      if (config.upstash) collectors.push(redisCollector(metrics, config.upstash));
      const running = startCollectors(collectors, { intervalMs: config.pushIntervalMs, logger });
      await running.collectNow();

      const pusher = new MetricsPusher({
        registry: metrics.registry,
        url: push.url,
        protocol: config.metricsPushProtocol,
        job: config.logging.serviceName,
        instance,
        ...(push.token ? { token: push.token } : {}),
        onGiveUp: (count) => metrics.metricsPushFailuresTotal.inc(count),
        logger,
      });
      // Coalesced: a tick while a push is still in flight (slow gateway) is folded into it rather than queued.
      const timer = setInterval(() => void pusher.pushCoalesced(), config.pushIntervalMs);
      timer.unref();
      shutdownHooks.add('metrics push', async (budgetMs) => {
        clearInterval(timer);
        running.stop();
        await running.collectNow();
        // Leave part of the hook's budget for the log line saying what was lost, should the gateway not answer.
        await pusher.flush(Math.max(500, Math.floor(budgetMs * 0.8)));
      });
    },
  };
}
