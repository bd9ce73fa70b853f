// What every request pays to be observed: its request id (as hono/request-id gives it), request metrics and the
// ECS access line, begun and ended in one place, with the request's headers read once from the raw Node request
// where there is one (see request.ts).
//
// `observeApp` observes from around `app.fetch` rather than through `app.use`, because Hono answers a request
// that exactly one handler matches without composing anything — synchronously when that handler returns a
// Response — and @hono/node-server then writes the Response on its synchronous path. One `app.use` that every
// request passes makes Hono's compose, and so every response, a Promise (≈ +6 µs on /livez, bench/README.md).
// So the observation begins and ends outside Hono, and takes the request's Context only where Hono hands one
// over anyway: a middleware on the route groups that run middleware regardless (`/api/*`), notFound and onError.
// A lone handler (/livez) hands none; its route is looked up in the app's router, as Hono looked it up.
// `observe` is the same observation as one middleware, for apps without such routes (accessLog).
//
// Correlation: `trace.id` is the W3C `traceparent` trace id when the caller sent one, else the request id, so
// every line of one request can be found by one id in Kibana. Handlers get `c.var.logger`, bound to that id.
import type { Context, Env, ErrorHandler, ExecutionContext, Hono, MiddlewareHandler, NotFoundHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from 'pino';
import { type AccessLineWriter, pinoAccessWriter } from '../../logging/access-line.js';
import { requestLogger } from '../../logging/request-logger.js';
import { endpointOf, type MatchedRoute, type RequestMetricsOptions, requestRecorder } from '../../observability/request-metrics.js';
import { defaultUserId, type NodeBindings, nodeBindings, requestHeader, traceIdOf } from './request.js';

export interface RequestIdOptions {
  /** Default `X-Request-Id`. */
  headerName?: string;
  /** A longer incoming id is replaced by a generated one (default 255). */
  limitLength?: number;
  generator?: () => string;
}

export interface AccessLogOptions {
  logger: Logger;
  /** How the line is written; default: through `logger` (Node's logging gives a faster writer, `accessLine`). */
  write?: AccessLineWriter;
  /**
   * The user a request concerns, for `user.id`; default `defaultUserId`. Not asked for a request that a lone
   * handler answered under `observeApp` (no middleware ran, so nothing can have set a user).
   */
  userId?: (c: Context) => string | undefined;
  /** Route templates whose successful requests (status < 400) write no line (LOG_ACCESS_SKIP_ROUTES); metrics still count them. */
  skipRoutes?: readonly string[];
}

export interface ObserveOptions {
  /**
   * Takes the caller's id when it is short and plain (`[\w=-]`), else generates one; answers it back. Default on.
   * `false`: the app brings its own (`observe` reads `c.var.requestId` for the line; `observeApp` has none).
   */
  requestId?: RequestIdOptions | false;
  metrics?: RequestMetricsOptions;
  /** One ECS line per request, written after the response is ready, with the error of a failed request. */
  accessLog?: AccessLogOptions;
}

export interface ObserveAppOptions<E extends Env> extends ObserveOptions {
  /**
   * The paths whose requests get `c.var.requestId` and `c.var.logger` (Hono's `app.use` pattern): those that run
   * middleware anyway. The requests of other paths are answered without it, synchronously where the handler is.
   */
  contextPath: string;
  notFound: NotFoundHandler<E>;
  onError: ErrorHandler<E>;
}

/** One request under observation, from `app.fetch` (or the middleware) until its response is ready. */
interface Observation {
  readonly start: number;
  readonly node: NodeBindings | undefined;
  readonly requestId: string | undefined;
  readonly traceId: string | undefined;
  /** The request's Context once Hono handed it over (middleware, notFound, onError). */
  context: Context | undefined;
  /** The error onError answered: Hono sets `c.error` only when it composes. */
  error: unknown;
}

/** The route of a request no route matched, in the access line and LOG_ACCESS_SKIP_ROUTES. */
const UNMATCHED_ROUTE = '/*';
const plainId = /[^\w\-=]/;

function requestObserver(options: ObserveOptions) {
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

  return {
    headerName,
    /** Whether `end` has anything to do (metrics or an access line); without, no route is looked up for it. */
    ends: metrics !== undefined || write !== undefined,
    /** Answers the id back on the raw response where there is one: node-server keeps its plain-object path. */
    answersOnResponse: (observation: Observation) => idOptions !== undefined && !observation.node,

    begin(request: Request, env: unknown, givenRequestId: () => string | undefined): Observation {
      const start = now();
      const node = nodeBindings(env);
      let requestId: string | undefined;
      if (idOptions) {
        requestId = requestHeader(request, node, lowerHeaderName);
        if (!requestId || requestId.length > limitLength || plainId.test(requestId)) requestId = generate();
        node?.outgoing.setHeader(headerName, requestId);
      } else if (access) {
        requestId = givenRequestId();
      }
      const traceId = access ? traceIdOf(requestHeader(request, node, 'traceparent'), requestId) : undefined;
      metrics?.activeConnections.inc();
      return { start, node, requestId, traceId, context: undefined, error: undefined };
    },

    /** Gives the request's Context its `requestId` and `logger`, and keeps it for the end. */
    adopt(c: Context, observation: Observation): void {
      observation.context = c;
      if (idOptions) c.set('requestId' as never, observation.requestId as never);
      if (access) c.set('logger' as never, requestLogger(access.logger, observation.traceId) as never);
    },

    /** The response is ready (or failed: status 500): metrics, then the access line. */
    end(
      observation: Observation,
      request: Request,
      path: string,
      routes: readonly MatchedRoute[],
      routeIndex: number,
      status: number,
      error: unknown,
    ): void {
      const end = now();
      const { method } = request;
      if (metrics) {
        metrics.activeConnections.dec();
        record!(method, endpointOf(routes, routeIndex), status, (end - observation.start) / 1000);
      }
      if (!write) return;
      const route = routes[routeIndex]?.path ?? UNMATCHED_ROUTE;
      if (skipRoutes && status < 400 && error === undefined && skipRoutes.has(route)) return;
      const { context } = observation;
      try {
        write({
          start: observation.start,
          end,
          method,
          path,
          route,
          status,
          requestId: observation.requestId,
          traceId: observation.traceId,
          userId: context ? userIdOf(context) : undefined,
          userAgent: requestHeader(request, observation.node, 'user-agent'),
          error,
        });
      } catch {
        // Logging never fails a request.
      }
    },
  };
}

/** The observation as one middleware: every request it sees is composed (async), which `observeApp` avoids. */
export function observe(options: ObserveOptions = {}): MiddlewareHandler {
  const observer = requestObserver(options);
  return async function observeRequest(c, next) {
    const observation = observer.begin(c.req.raw, c.env, () => c.get('requestId' as never) as string | undefined);
    observer.adopt(c, observation);
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
      observer.end(
        observation,
        c.req.raw,
        c.req.path,
        matchedRoutes(c),
        c.req.routeIndex,
        failed ? 500 : c.res.status,
        failed ? thrown : c.error,
      );
      if (!failed && observer.answersOnResponse(observation)) c.header(observer.headerName, observation.requestId);
    }
  };
}

const observationKey = Symbol('observation');
const noRequestId = () => undefined;

function observationOf(c: Context): Observation | undefined {
  return (c.env as Record<symbol, Observation | undefined> | undefined)?.[observationKey];
}

function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    // Immutable headers (a Response from fetch, Response.redirect): a copy that can take it.
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

/**
 * Observes every request of `app` from around its `fetch` (what node-server, the Workers entry and
 * `app.request` call) and installs its notFound and onError handlers. Call it before registering routes: the
 * middleware on `contextPath` must come first to give the later middleware and handlers their `c.var`.
 * The observation reaches Hono as a key of the request's `env`, a copy of the one passed in.
 */
export function observeApp<E extends Env>(app: Hono<E>, options: ObserveAppOptions<E>): void {
  const observer = requestObserver(options);
  const adopted = (c: Context): Observation | undefined => {
    const observation = observationOf(c);
    if (observation && observation.context !== c) observer.adopt(c, observation);
    return observation;
  };
  app.use(options.contextPath, (c, next) => {
    adopted(c);
    return next();
  });
  app.notFound((c) => {
    adopted(c);
    return options.notFound(c);
  });
  app.onError((error, c) => {
    const observation = adopted(c);
    if (observation) observation.error = error;
    return options.onError(error, c);
  });

  const ended = (observation: Observation, request: Request, env: unknown, status: number, error: unknown): void => {
    if (!observer.ends) return;
    const { context } = observation;
    if (context) {
      const routes = matchedRoutes(context);
      observer.end(observation, request, context.req.path, routes, context.req.routeIndex, status, error ?? context.error);
    } else {
      // A lone handler answered: the route Hono's router gave it (HEAD is answered by the GET route).
      const path = app.getPath(request, { env: env as E['Bindings'] });
      const routes = app.router.match(request.method === 'HEAD' ? 'GET' : request.method, path)[0].map(([[, route]]) => route);
      observer.end(observation, request, path, routes, routes.length - 1, status, error);
    }
  };
  const answered = (observation: Observation, request: Request, env: unknown, response: Response): Response => {
    ended(observation, request, env, response.status, observation.error);
    const { requestId } = observation;
    return requestId !== undefined && observer.answersOnResponse(observation)
      ? withHeader(response, observer.headerName, requestId)
      : response;
  };
  const failed = (observation: Observation, request: Request, env: unknown, error: unknown): never => {
    ended(observation, request, env, 500, error);
    throw error;
  };

  const dispatch = app.fetch;
  app.fetch = (request: Request, env?: unknown, executionCtx?: ExecutionContext) => {
    const observation = observer.begin(request, env, noRequestId);
    const observedEnv = { ...(env as object | undefined), [observationKey]: observation };
    let answer: Response | Promise<Response>;
    try {
      answer = dispatch(request, observedEnv, executionCtx);
    } catch (error) {
      return failed(observation, request, env, error);
    }
    return answer instanceof Promise
      ? answer.then(
          (response) => answered(observation, request, env, response),
          (error: unknown) => failed(observation, request, env, error),
        )
      : answered(observation, request, env, answer);
  };
}
