// One middleware for what every request pays to be observed: its request id (as hono/request-id gives it),
// request metrics and the ECS access line. One async layer instead of three, and the request's headers are
// read once from the raw Node request where there is one (see request.ts).
//
// Correlation: `trace.id` is the W3C `traceparent` trace id when the caller sent one, else the request id, so
// every line of one request can be found by one id in Kibana. Handlers get `c.var.logger`, bound to that id.
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { type AccessLineWriter, pinoAccessWriter } from '../../logging/access-line.js';
import { requestLogger } from '../../logging/request-logger.js';
import { type RequestMetricsOptions, requestRecorder } from '../../observability/request-metrics.js';
import { defaultUserId, nodeBindings, requestHeader, traceIdOf } from './request.js';

export interface RequestIdOptions {
  /** Default `X-Request-Id`. */
  headerName?: string;
  /** A longer incoming id is replaced by a generated one (default 255). */
  limitLength?: number;
  generator?: (c: Context) => string;
}

export interface AccessLogOptions {
  logger: Logger;
  /** How the line is written; default: through `logger` (Node's logging gives a faster writer, `accessLine`). */
  write?: AccessLineWriter;
  /** The user a request concerns, for `user.id`; default `defaultUserId`. */
  userId?: (c: Context) => string | undefined;
  /** Route templates whose successful requests (status < 400) write no line (LOG_ACCESS_SKIP_ROUTES); metrics still count them. */
  skipRoutes?: readonly string[];
}

export interface ObserveOptions {
  /** Takes the caller's id when it is short and plain (`[\w=-]`), else generates one; answers it back. Default on. */
  requestId?: RequestIdOptions | false;
  metrics?: RequestMetricsOptions;
  /** One ECS line per request, written after the response is ready, with the error of a failed request. */
  accessLog?: AccessLogOptions;
}

const plainId = /[^\w\-=]/;

export function observe(options: ObserveOptions = {}): MiddlewareHandler {
  const idOptions = options.requestId === false ? undefined : (options.requestId ?? {});
  const headerName = idOptions?.headerName ?? 'X-Request-Id';
  const lowerHeaderName = headerName.toLowerCase();
  const limitLength = idOptions?.limitLength ?? 255;
  const generate = idOptions?.generator ?? (() => crypto.randomUUID());
  const metrics = options.metrics;
  const now = metrics?.now ?? (() => performance.now());
  const record = metrics ? requestRecorder(metrics) : undefined;
  const access = options.accessLog;
  const write = access ? (access.write ?? pinoAccessWriter(access.logger)) : undefined;
  const userIdOf = access?.userId ?? defaultUserId;
  const skipRoutes = access?.skipRoutes?.length ? new Set(access.skipRoutes) : undefined;

  return async function observeRequest(c, next) {
    const start = now();
    const node = nodeBindings(c);
    let requestId: string | undefined;
    if (idOptions) {
      requestId = requestHeader(c, node, lowerHeaderName);
      if (!requestId || requestId.length > limitLength || plainId.test(requestId)) requestId = generate(c);
      c.set('requestId' as never, requestId as never);
      // On Node the header goes on the raw response, which keeps node-server's plain-object response path.
      node?.outgoing.setHeader(headerName, requestId);
    } else if (access) {
      requestId = c.get('requestId' as never) as string | undefined;
    }
    let traceId: string | undefined;
    if (access) {
      traceId = traceIdOf(requestHeader(c, node, 'traceparent'), requestId);
      c.set('logger' as never, requestLogger(access.logger, traceId) as never);
    }
    metrics?.activeConnections.inc();
    let failed = false;
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      // Hono turns Errors into responses through onError before they reach here; only without an onError
      // handler, or for non-Error throws, does one arrive, and Hono then answers 500.
      failed = true;
      thrown = error;
      throw error;
    } finally {
      const end = now();
      const status = failed ? 500 : c.res.status;
      if (idOptions && !node && !failed) c.header(headerName, requestId);
      if (metrics) {
        metrics.activeConnections.dec();
        record!(c, status, (end - start) / 1000);
      }
      if (write && !(skipRoutes && status < 400 && c.error === undefined && skipRoutes.has(c.req.routePath))) {
        try {
          write({
            start,
            end,
            method: c.req.method,
            path: c.req.path,
            route: c.req.routePath,
            status,
            requestId,
            traceId,
            userId: userIdOf(c),
            userAgent: requestHeader(c, node, 'user-agent'),
            error: failed ? thrown : c.error,
          });
        } catch {
          // Logging never fails a request.
        }
      }
    }
  };
}
