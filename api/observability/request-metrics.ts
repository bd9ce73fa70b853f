// Request metrics middleware: http_requests_total{method,endpoint,status}, http_request_duration_seconds{method,endpoint}
// and active_connections. Register it first so it sees every request, including ones that later middleware refuses.
//
// `endpoint` is the route template that answered (or would have answered) the request, read after `next()`, so a
// scan of random URLs adds one shared value (UNMATCHED_ENDPOINT) and never one series per URL. Label children are
// cached per (method, endpoint, status): the hot path does three Map lookups and no label-object allocation.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Counter, Gauge, Histogram } from 'prom-client';

/** The `endpoint` value of every request no route handler matched (404s of unknown paths). */
export const UNMATCHED_ENDPOINT = 'unmatched';

/** Methods kept as they are; anything else (custom verbs from scanners) is counted as OTHER. */
const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface RequestMetricsOptions {
  httpRequestsTotal: Counter<'method' | 'endpoint' | 'status'>;
  httpRequestDurationSeconds: Histogram<'method' | 'endpoint'>;
  activeConnections: Gauge;
  /** Clock in milliseconds; performance.now() is monotonic on Node and advances across I/O on workerd. */
  now?: () => number;
}

export interface MatchedRoute {
  method: string;
  path: string;
  handler: { length: number };
}

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

interface EndpointChildren {
  endpoint: string;
  duration: HistogramChild;
  byStatus: Map<number, CounterChild>;
}

/**
 * A route registered with `app.use()` (method ALL, `(c, next)` signature) is middleware; anything else answers
 * requests. This is the distinction Hono's own `matchedRoutes` example draws.
 */
function isHandlerRoute(route: MatchedRoute): boolean {
  return route.method !== 'ALL' || route.handler.length < 2;
}

/**
 * The template of the route that answered: the one at `routeIndex` when it is a handler; when a middleware answered
 * early (401, 429…), the handler the request was headed for; UNMATCHED_ENDPOINT when no handler matched at all.
 */
export function endpointOf(routes: readonly MatchedRoute[], routeIndex: number): string {
  const answering = routes[routeIndex];
  if (answering && isHandlerRoute(answering)) return answering.path;
  for (let i = routeIndex + 1; i < routes.length; i++) {
    const route = routes[i]!;
    if (isHandlerRoute(route)) return route.path;
  }
  return UNMATCHED_ENDPOINT;
}

/** `endpointOf` the routes Hono matched for the request and the one it reached. */
function endpointOfContext(c: Context): string {
  return endpointOf(matchedRoutes(c) as MatchedRoute[], c.req.routeIndex);
}

/** Records one finished request (method as the request has it); what the observe module and `requestMetrics` share. */
export type RequestRecorder = (method: string, endpoint: string, status: number, seconds: number) => void;

export function requestRecorder(options: Pick<RequestMetricsOptions, 'httpRequestsTotal' | 'httpRequestDurationSeconds'>): RequestRecorder {
  const { httpRequestsTotal, httpRequestDurationSeconds } = options;
  const children = new Map<string, Map<string, EndpointChildren>>();

  const childrenFor = (method: string, endpoint: string): EndpointChildren => {
    let byEndpoint = children.get(method);
    if (!byEndpoint) children.set(method, (byEndpoint = new Map()));
    let entry = byEndpoint.get(endpoint);
    if (!entry) {
      entry = { endpoint, duration: httpRequestDurationSeconds.labels(method, endpoint), byStatus: new Map() };
      byEndpoint.set(endpoint, entry);
    }
    return entry;
  };

  return (requestMethod, endpoint, status, seconds) => {
    const method = knownMethods.has(requestMethod) ? requestMethod : 'OTHER';
    const entry = childrenFor(method, endpoint);
    let counter = entry.byStatus.get(status);
    if (!counter) entry.byStatus.set(status, (counter = httpRequestsTotal.labels(method, entry.endpoint, String(status))));
    counter.inc();
    entry.duration.observe(seconds);
  };
}

export function requestMetrics(options: RequestMetricsOptions): MiddlewareHandler {
  const { activeConnections } = options;
  const now = options.now ?? (() => performance.now());
  const record = requestRecorder(options);

  return async function requestMetricsMiddleware(c, next) {
    const started = now();
    activeConnections.inc();
    try {
      await next();
    } catch (error) {
      // Hono turns Errors into responses through onError before they reach here; only non-Error throws arrive,
      // and Hono answers those with 500.
      record(c.req.method, endpointOfContext(c), 500, (now() - started) / 1000);
      throw error;
    } finally {
      activeConnections.dec();
    }
    record(c.req.method, endpointOfContext(c), c.res.status, (now() - started) / 1000);
  };
}
