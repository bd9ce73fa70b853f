// Observability for the Worker entry, one per isolate: a registry with the request and query metrics (no
// collectors: a Worker has no OS to read and no interval), the request middleware, and a pusher that runs after
// each request inside `ctx.waitUntil`, coalesced so an isolate has at most one push in flight. An isolate can be
// evicted at any time after its last request: increments counted after its last acknowledged push are then lost,
// which is the price of pushing from a platform without background work (see docs/metrics.md).
import type { Sql } from 'postgres';
import { Registry } from 'prom-client';
import { MetricsPusher, type PusherLogger } from '../../pushgateway/client/index.js';
import type { Config } from '../config.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { instrumentPostgresClient } from './query-timing.js';

export interface WorkerObservability {
  metrics: ApiMetrics;
  /** For createPostgresDatabase's `wrapClient`: times every statement and tracks the client in database_connections. */
  wrapPostgresClient(raw: Sql): Sql;
  /** Call once per request, after the response is built: pushes in the background of this request. */
  afterRequest(ctx: ExecutionContext): void;
}

export function createWorkerObservability({
  config,
  logger,
}: {
  config: Pick<Config, 'logging' | 'pushgatewayUrl' | 'pushgatewayToken' | 'metricsPushProtocol'>;
  logger: PusherLogger;
}): WorkerObservability {
  const metrics = createApiMetrics(new Registry(), { nodeCollectors: false });
  const pusher = config.pushgatewayUrl
    ? new MetricsPusher({
        registry: metrics.registry,
        url: config.pushgatewayUrl,
        protocol: config.metricsPushProtocol,
        job: config.logging.serviceName,
        // Isolates come and go: each is its own instance, and the gateway's TTL retires the gauges of dead ones.
        instance: `worker-${crypto.randomUUID()}`,
        ...(config.pushgatewayToken ? { token: config.pushgatewayToken } : {}),
        // waitUntil gets 30 s after the response; a push must settle well within it.
        timeoutMs: 5_000,
        onGiveUp: (count) => metrics.metricsPushFailuresTotal.inc(count),
        logger,
      })
    : undefined;
  if (!pusher) logger.warn({}, 'PUSHGATEWAY_URL not set: metrics are counted but not pushed');

  return {
    metrics,
    wrapPostgresClient(raw) {
      // The Worker opens a client per request and closes it in waitUntil; database.close() calls raw.end(), which is
      // re-pointed here (a plain property of the postgres.js client) so the gauge follows open clients.
      metrics.databaseConnections.inc();
      const end = raw.end.bind(raw);
      let ended = false;
      raw.end = async (options) => {
        try {
          return await end(options);
        } finally {
          if (!ended) {
            ended = true;
            metrics.databaseConnections.dec();
          }
        }
      };
      return instrumentPostgresClient(raw, metrics);
    },
    afterRequest(ctx) {
      const push = pusher?.pushCoalesced();
      if (push)
        ctx.waitUntil(
          push.then(
            () => undefined,
            (error: unknown) => logger.error({ err: String(error) }, 'metrics push failed unexpectedly'),
          ),
        );
    },
  };
}
