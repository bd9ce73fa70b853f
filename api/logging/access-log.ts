// One ECS access line per request, written after the response is ready, with the error of a failed request.
// Correlation: `trace.id` is the W3C `traceparent` trace id when the caller sent one, else the request id
// (hono/request-id's `X-Request-Id`), so every line of one request can be found by one id in Kibana.
// Handlers get `c.var.logger`, a child already bound to that id.
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';

export interface AccessLogOptions {
  logger: Logger;
  /**
   * The user a request concerns, for `user.id` ("all requests of one user" in Kibana). Default: the
   * authenticated user a middleware set as `c.var.userId`, else the `:id` of `/api/users/:id…` or the
   * `:userId` of any route.
   */
  userId?: (c: Context) => string | undefined;
}

const traceparentPattern = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

function traceIdOf(c: Context, requestId: string | undefined): string | undefined {
  const match = traceparentPattern.exec(c.req.header('traceparent')?.trim().toLowerCase() ?? '');
  if (match && match[1] !== '0'.repeat(32)) return match[1];
  return requestId;
}

export function defaultUserId(c: Context): string | undefined {
  const fromAuth = c.get('userId' as never) as unknown;
  if (typeof fromAuth === 'string' || typeof fromAuth === 'number') return String(fromAuth);
  const route = c.req.routePath;
  if (route.startsWith('/api/users/:id')) return c.req.param('id');
  if (route.includes(':userId')) return c.req.param('userId');
  return undefined;
}

export function accessLog({ logger, userId = defaultUserId }: AccessLogOptions): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    const requestId = c.get('requestId' as never) as string | undefined;
    const traceId = traceIdOf(c, requestId);
    c.set('logger' as never, (traceId ? logger.child({ 'trace.id': traceId }) : logger) as never);
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      // Only without an onError handler does an error reach here; log it, then let Hono answer 500.
      thrown = error;
      throw error;
    } finally {
      try {
        writeAccessLine(c, logger, { start, requestId, traceId, userId, thrown });
      } catch {
        // Logging never fails a request.
      }
    }
  };
}

function writeAccessLine(
  c: Context,
  logger: Logger,
  {
    start,
    requestId,
    traceId,
    userId,
    thrown,
  }: {
    start: number;
    requestId: string | undefined;
    traceId: string | undefined;
    userId: (c: Context) => string | undefined;
    thrown: unknown;
  },
): void {
  const status = thrown === undefined ? c.res.status : 500;
  const error = thrown ?? c.error;
  const line: Record<string, unknown> = {
    'event.kind': 'event',
    'event.category': 'web',
    'event.outcome': status >= 500 ? 'failure' : 'success',
    'event.duration': Math.round((performance.now() - start) * 1e6),
    'http.request.method': c.req.method,
    'url.path': c.req.path,
    'http.route': c.req.routePath,
    'http.response.status_code': status,
  };
  if (requestId) line['http.request.id'] = requestId;
  if (traceId) line['trace.id'] = traceId;
  const user = userId(c);
  if (user) line['user.id'] = user;
  const agent = c.req.header('user-agent');
  if (agent) line['user_agent.original'] = agent;
  if (error !== undefined) line.err = error instanceof Error ? error : new Error(String(error));
  const level = status >= 500 ? 'error' : 'info';
  logger[level](line, `${c.req.method} ${c.req.path} ${status}`);
}
