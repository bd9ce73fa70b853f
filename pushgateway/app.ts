// The gateway's Hono app, runtime-neutral: the Node server (server.ts) and the Worker entry (worker.ts) serve it.
// Middleware order: request counting (sees every final status, 401s included), auth, push timing, body reading
// (size limit, gzip, snappy), then the official-compatible routes over the store and the page.
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { getPath } from 'hono/utils/url';
import type { GatewayConfig } from './config/gateway.js';
import type { ExpositionFormat } from './core/exposition-format.js';
import { gatewayAuth } from './http/auth.js';
import { type BodyVariables, clientClosedRequest, pushBodyReader } from './http/body.js';
import { jsonError } from './http/errors.js';
import { registerOtlpRoute } from './http/otlp.js';
import { type GatewayLog, registerPushRoutes } from './http/push.js';
import { PushSummaries } from './http/push-summaries.js';
import { registerReadRoutes } from './http/read.js';
import { RequestCounter, requestCounting } from './http/request-metrics.js';
import { OtlpPointCounter } from './otlp/metrics.js';
import { DurableObjectStore } from './store/durable-object-store.js';
import { RedisStore } from './store/redis.js';
import { ReplicaHeartbeats, type ReplicaIdentity } from './store/replica-heartbeats.js';
import type { GatewayStore } from './store/types.js';
import { type GatewayInstances, registerWebPage } from './web/page.js';

export interface GatewayAppOptions {
  store: GatewayStore;
  config: GatewayConfig;
  log?: GatewayLog;
  clock?: () => number;
  /** Extra exposition text for /metrics (the Node server adds process metrics). */
  extraMetrics?: (format: ExpositionFormat) => string | Promise<string>;
  version?: string;
  /**
   * gzip /metrics in the app (default). The Worker entry turns it off: workerd compresses a response whose
   * Content-Encoding is set by itself, so compressing here would send the scrape gzipped twice.
   */
  compressScrapes?: boolean;
  /** This process as a replica on a shared Redis store (server.ts writes its heartbeat); the status page marks it. */
  replica?: ReplicaIdentity;
}

export const gatewayVersion = '0.1.0';

const silentLog: GatewayLog = { debug() {}, warn() {}, error() {} };

/** Flags for /api/v1/status: the effective configuration, with secrets reduced to whether they are set. */
function statusFlags(config: GatewayConfig): Record<string, string> {
  return {
    'web.listen-port': String(config.port),
    'web.enable-admin-api': String(config.enableAdminApi),
    'push.auth': config.pushToken === undefined ? 'open' : 'bearer',
    'scrape.auth': config.scrape === undefined ? 'open' : 'basic',
    store: config.store,
    'persistence.file': config.persistenceFile ?? '',
    'group.ttl-seconds': String(config.groupTtlSeconds),
    'max-body-bytes': String(config.maxBodyBytes),
    'max-series': String(config.maxSeries),
    'push.enable-utf8-names': String(config.enableUtf8Names),
    'max-stored-bytes': String(config.maxStoredBytes),
    'web.route-prefix': config.routePrefix,
    'web.external-url': config.externalUrl ?? '',
  };
}

/** What the status page lists as the instances behind the store. */
function gatewayInstances(store: GatewayStore, config: GatewayConfig, selfId: string | undefined): () => Promise<GatewayInstances> {
  if (store instanceof RedisStore) {
    const heartbeats = new ReplicaHeartbeats(store.commands, config.redisKeyPrefix);
    return async () => ({ kind: 'replicas', replicas: await heartbeats.live(), selfId });
  }
  if (store instanceof DurableObjectStore) return async () => ({ kind: 'shards', shards: config.durableObjectShards });
  return async () => ({ kind: 'single' });
}

const outsidePrefix = '/\u0000outside-route-prefix';

function pathBelowPrefix(path: string, prefix: string): string {
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : outsidePrefix;
}

export function createGatewayApp({
  store,
  config,
  log = silentLog,
  clock = Date.now,
  extraMetrics,
  version = gatewayVersion,
  compressScrapes = true,
  replica,
}: GatewayAppOptions): Hono<{ Variables: BodyVariables }> {
  // Under a route prefix (GATEWAY_ROUTE_PREFIX / GATEWAY_EXTERNAL_URL) every route moves below it: routing sees the
  // path without the prefix, and a path outside it matches no route (404).
  const prefix = config.routePrefix;
  const app = new Hono<{ Variables: BodyVariables }>(
    prefix === '' ? {} : { getPath: (request) => pathBelowPrefix(getPath(request), prefix) },
  );
  const requests = new RequestCounter();
  const pushSummaries = new PushSummaries(clock);
  const startedAtMs = clock();
  let storeErrors = 0;
  const names = config.enableUtf8Names ? 'utf8' : 'legacy';

  app.use('*', requestCounting(requests));
  app.use('*', gatewayAuth({ pushToken: config.pushToken, ...(config.scrape ? { scrape: config.scrape } : {}) }));
  app.use('/metrics/*', pushSummaries.middleware());
  app.use('/aggregate/metrics/*', pushSummaries.middleware());
  app.use('/metrics/*', pushBodyReader({ maxBytes: config.maxBodyBytes, log }));
  app.use('/aggregate/metrics/*', pushBodyReader({ maxBytes: config.maxBodyBytes, log }));
  app.use('/v1/metrics', pushBodyReader({ maxBytes: config.maxBodyBytes, log }));
  // Scrapes are gzip-compressed when the scraper accepts it (Prometheus does), as the official gateway does.
  if (compressScrapes)
    app.use(
      '/metrics',
      compress({
        encoding: 'gzip',
        contentTypeFilter: (type) =>
          type.startsWith('text/plain') ||
          type.startsWith('application/openmetrics-text') ||
          type.startsWith('application/vnd.google.protobuf'),
      }),
    );
  // On Workers the runtime gzips a response that names gzip as its Content-Encoding: naming it is enough.
  else
    app.use('/metrics', async (c, next) => {
      await next();
      if (c.req.method === 'GET' && c.res.status === 200 && /\bgzip\b/i.test(c.req.header('accept-encoding') ?? ''))
        c.res.headers.set('content-encoding', 'gzip');
    });

  registerPushRoutes(
    app,
    '',
    { put: 'replace', post: 'merge-families' },
    { store, log, clock, routePrefix: prefix, names, onStoreError: () => storeErrors++ },
  );
  // Aggregation mode (DESIGN.md): the same grammar under /aggregate; PUT and POST both add deltas.
  registerPushRoutes(
    app,
    '/aggregate',
    { put: 'aggregate', post: 'aggregate' },
    { store, log, clock, routePrefix: prefix, names, onStoreError: () => storeErrors++ },
  );
  // OpenTelemetry (OTLP/HTTP): its fixed path, under the route prefix like every other route.
  const otlpPoints = new OtlpPointCounter();
  registerOtlpRoute(app, { store, log, clock, counter: otlpPoints, onStoreError: () => storeErrors++ });
  registerReadRoutes(app, {
    store,
    clock,
    requests,
    pushSummaries,
    startedAtMs,
    flags: statusFlags(config),
    version,
    storeErrors: () => storeErrors,
    onStoreError: (error) => {
      storeErrors++;
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'gateway store failed on a read');
    },
    seriesLimit: config.maxSeries,
    utf8Names: config.enableUtf8Names,
    storedBytesLimit: config.maxStoredBytes,
    groupTtlMs: config.groupTtlSeconds * 1000,
    extraMetrics: async (format) => otlpPoints.render(format) + ((await extraMetrics?.(format)) ?? ''),
  });

  registerWebPage(app, {
    store,
    clock,
    routePrefix: prefix,
    pushTokenRequired: config.pushToken !== undefined,
    groupTtlSeconds: config.groupTtlSeconds,
    maxSeries: config.maxSeries,
    maxBodyBytes: config.maxBodyBytes,
    storeKind:
      store instanceof RedisStore
        ? store.commands.description
        : config.persistenceFile
          ? `memory, persisted to ${config.persistenceFile}`
          : 'memory',
    version,
    startedAtMs,
    flags: statusFlags(config),
    instances: gatewayInstances(store, config, replica?.id),
  });

  if (config.enableAdminApi) {
    app.put('/api/v1/admin/wipe', async (c) => {
      try {
        await store.wipe();
      } catch {
        storeErrors++;
        return jsonError(503, 'store_unavailable', 'the gateway store is unavailable; nothing was wiped');
      }
      return c.body(null, 202);
    });
  }

  app.notFound(() => jsonError(404, 'not_found', 'no such route'));
  app.onError((error, c) => {
    // Whatever failed after the client went away is reported as its disconnect, not as a gateway failure.
    if (c.req.raw.signal.aborted) {
      log.debug({ err: error.message, path: c.req.path }, 'request abandoned by the client');
      return jsonError(clientClosedRequest, 'client_closed_request', 'the client closed the connection');
    }
    log.error({ err: error.message }, 'unhandled gateway error');
    return jsonError(500, 'internal', 'internal error');
  });
  return app;
}
