// Observability for the Worker entry, one per isolate: a registry with the request and query metrics (no
// collectors: a Worker has no OS to read and no interval), the request middleware, and a pusher driven by a
// flush window (api/flush-window.ts): the increments of every request an isolate serves within PUSH_INTERVAL_MS
// go out in one push, in the `ctx.waitUntil` of a request of that window; at most one push is in flight per
// isolate. The gateway is reached over the public URL (PUSHGATEWAY_URL) or, bound as a Service Binding
// (PUSHGATEWAY), Worker to Worker without leaving Cloudflare. An isolate killed before its window closes
// (waitUntil normally keeps it alive until then) loses the increments of that window (README "Workers").
import type { Sql } from 'postgres';
import { Registry } from 'prom-client';
import { fetchTransport, MetricsPusher, type PusherLogger } from '../../pushgateway/client/index.js';
import type { Config } from '../config.js';
import { FlushWindow, type WaitUntil } from '../flush-window.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { instrumentPostgresClient } from './query-timing.js';

export interface WorkerObservability {
  metrics: ApiMetrics;
  /** For createPostgresDatabase's `wrapClient`: times every statement and tracks the client in database_connections. */
  wrapPostgresClient(raw: Sql): Sql;
  /** Call once per request, after the response is built: pushes in its `waitUntil` when the window is due. */
  afterRequest(ctx: WaitUntil): void;
}

/** waitUntil gets 30 s after the response; a push attempt must settle well within it. */
const pushTimeoutMs = 5_000;

/** The gateway's address when only the Service Binding is given: the binding ignores the host, keeps the path. */
const serviceBindingUrl = 'http://pushgateway';

export function createWorkerObservability({
  config,
  logger,
  gatewayBinding,
  afterPush,
}: {
  config: Pick<Config, 'logging' | 'pushgatewayUrl' | 'pushgatewayToken' | 'pushIntervalMs' | 'metricsPushProtocol'>;
  logger: PusherLogger;
  /** The gateway Worker as a Service Binding: pushes go through it instead of a public HTTP round trip. */
  gatewayBinding?: Fetcher;
  /** Runs in the same `waitUntil` after each push, e.g. to ship the lines the push logged. */
  afterPush?: (ctx: WaitUntil) => void;
}): WorkerObservability {
  const metrics = createApiMetrics(new Registry(), { nodeCollectors: false });
  const url = config.pushgatewayUrl ?? (gatewayBinding ? serviceBindingUrl : undefined);
  const pusher = url
    ? new MetricsPusher({
        registry: metrics.registry,
        url,
        protocol: config.metricsPushProtocol,
        job: config.logging.serviceName,
        // Isolates come and go: each is its own instance, and the gateway's TTL retires the gauges of dead ones.
        instance: `worker-${crypto.randomUUID()}`,
        ...(config.pushgatewayToken ? { token: config.pushgatewayToken } : {}),
        transport: fetchTransport({
          timeoutMs: pushTimeoutMs,
          ...(gatewayBinding ? { fetch: (input, init) => gatewayBinding.fetch(input, init) } : {}),
        }),
        onGiveUp: (count) => metrics.metricsPushFailuresTotal.inc(count),
        logger,
      })
    : undefined;
  if (!pusher) logger.warn({}, 'neither PUSHGATEWAY_URL nor the PUSHGATEWAY binding is set: metrics are counted but not pushed');
  const pushWindow = pusher
    ? new FlushWindow({
        maxDelayMs: config.pushIntervalMs,
        flush: async (ctx) => {
          try {
            // undefined: a push is in flight (it goes once more for these increments) or backing off.
            await pusher.pushCoalesced();
          } catch (error) {
            logger.error({ err: String(error) }, 'metrics push failed unexpectedly');
          }
          afterPush?.(ctx);
        },
      })
    : undefined;

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
      pushWindow?.added(ctx);
    },
  };
}
