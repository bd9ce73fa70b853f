// The app factory: every dependency comes in, a Hono app goes out. The runtime entries (node.ts,
// worker.ts) and the tests build the dependencies; nothing here reads the environment or opens sockets.
import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { createUserCache } from './cache.js';
import type { Database } from './db/types.js';
import { ApiError, errorHandler, notFoundHandler } from './errors.js';
import { type HealthCheck, runHealthChecks } from './health.js';
import { type ObserveOptions, observeApp } from './middleware/observe/index.js';
import { rateLimit } from './rate-limit.js';
import { createRepository } from './repository.js';
import { tasksRoutes } from './routes/tasks.js';
import { usersRoutes } from './routes/users.js';
import type { AppEnv } from './types.js';

export interface AppSettings {
  serviceName: string;
  rateLimit: { max: number; windowSeconds: number };
  cacheTtlSeconds: number;
  healthCheckTimeoutMs: number;
  /** Largest accepted request body; larger ones get 413 before they are read in full. */
  maxBodyBytes: number;
}

export const defaultSettings: AppSettings = {
  serviceName: 'api',
  rateLimit: { max: 100, windowSeconds: 60 },
  cacheTtlSeconds: 60,
  healthCheckTimeoutMs: 1_000,
  maxBodyBytes: 64 * 1024,
};

export interface AppDeps {
  /** The database, or (Workers: one per request) a function giving the request's database. */
  database: Database | ((c: Context) => Database);
  /** `@upstash/redis` client; without it there is no cache and no rate limit. */
  redis?: Redis;
  logger: Logger;
  /** Request metrics and the access line, measured around `app.fetch` (which also gives the request id). */
  observe?: Omit<ObserveOptions, 'requestId'>;
  /**
   * Installed right after the request id, so they see every request, including 404/413/429/500. They make every
   * response async, /livez's too (see api/middleware/observe).
   */
  middleware?: MiddlewareHandler[];
  /** The client's address, the rate limit's key (Node: socket address; Workers: CF-Connecting-IP). */
  clientAddress?: (c: Context) => string | undefined;
  settings?: Partial<AppSettings>;
}

const livezBody = JSON.stringify({ status: 'pass' });

export function createApp(deps: AppDeps) {
  const settings = { ...defaultSettings, ...deps.settings };
  const { logger, redis } = deps;
  const resolveDatabase = typeof deps.database === 'function' ? deps.database : () => deps.database as Database;
  const userCache = redis ? createUserCache({ redis, ttlSeconds: settings.cacheTtlSeconds, logger }) : undefined;
  const limiter = redis
    ? new Ratelimit({
        redis,
        limiter: Ratelimit.slidingWindow(settings.rateLimit.max, `${settings.rateLimit.windowSeconds} s`),
        prefix: `ratelimit:${settings.serviceName}`,
        analytics: false,
        timeout: settings.healthCheckTimeoutMs,
      })
    : undefined;

  const healthChecks: HealthCheck[] = [{ name: 'postgres', componentType: 'datastore', run: (c) => resolveDatabase(c).ping() }];
  if (redis) healthChecks.push({ name: 'redis', componentType: 'datastore', run: () => redis.ping() });

  const app = new Hono<AppEnv>();
  const middleware = deps.middleware ?? [];
  // Observed around app.fetch, so /livez, which no middleware matches, stays synchronous. Handlers of `/api/*`
  // (every route but the probe) get c.var.requestId and c.var.logger; with hooks, every request does.
  observeApp(app, {
    ...deps.observe,
    contextPath: middleware.length > 0 ? '*' : '/api/*',
    notFound: notFoundHandler,
    onError: errorHandler(logger),
  });
  for (const hook of middleware) app.use(hook);

  // The only handler that matches /livez, answering a Response with a plain header object: Hono and
  // @hono/node-server then answer it synchronously without building Headers (c.json with two headers would);
  // this probe is the most frequent request an API gets.
  app.get(
    '/livez',
    () => new Response(livezBody, { status: 200, headers: { 'Content-Type': 'application/health+json', 'Cache-Control': 'no-store' } }),
  );

  app.get('/api/health', async (c) => {
    const report = await runHealthChecks(c, {
      checks: healthChecks,
      timeoutMs: settings.healthCheckTimeoutMs,
      serviceId: settings.serviceName,
      logger,
    });
    return c.json(report, report.status === 'pass' ? 200 : 503, {
      'Content-Type': 'application/health+json',
      'Cache-Control': 'no-store',
    });
  });

  const limitBody = bodyLimit({
    maxSize: settings.maxBodyBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `Request body exceeds ${settings.maxBodyBytes} bytes`);
    },
  });
  // A GET or HEAD request has no body in the Fetch API (@hono/node-server gives it none either), and asking for
  // it (`c.req.raw.body`) makes @hono/node-server build a whole undici Request copy of the incoming request.
  app.use('/api/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));
  if (limiter) {
    const limited = rateLimit({ limiter, identify: deps.clientAddress ?? (() => undefined), logger });
    app.use('/api/users/*', limited);
    app.use('/api/tasks/*', limited);
  }
  // One repository for a database that lives as long as the app (Node); one per request where the database is
  // the request's (Workers).
  const sharedRepository = typeof deps.database === 'function' ? undefined : createRepository(deps.database.db);
  app.use('/api/*', (c, next) => {
    const database = resolveDatabase(c);
    c.set('database', database);
    c.set('repository', sharedRepository ?? createRepository(database.db));
    if (userCache) c.set('userCache', userCache);
    return next();
  });

  app.route('/api/users', usersRoutes());
  app.route('/api/tasks', tasksRoutes());

  return app;
}

export type App = ReturnType<typeof createApp>;
