// Cloudflare Workers entry. Configuration comes from `env` (vars and secrets, same names as on Node).
// postgres.js cannot keep a pool across requests on Workers (a socket belongs to the request that
// opened it), so each request that touches the database gets its own small client, closed in
// `waitUntil` after the response. Through Hyperdrive (binding HYPERDRIVE) that costs no real
// connection setup; without it DATABASE_URL is used directly. Migrations are not run here: apply them
// with `DATABASE_URL=… npm run db:migrate` before deploying.
import { Redis } from '@upstash/redis/cloudflare';
import type { Context } from 'hono';
import { createApp, type App } from './app.js';
import { parseConfig, type Config } from './config.js';
import { createPostgresDatabase } from './db/postgres.js';
import type { Database } from './db/types.js';
import { createWorkerObservability, type WorkerObservability } from './observability/worker.js';
import { accessLog } from './logging/access-log.js';
import { createWorkerLogger, type WorkerLogger } from './logging/worker-logger.js';
import { upstashOptions } from './redis.js';

export interface WorkerEnv {
  HYPERDRIVE?: Hyperdrive;
  [name: string]: unknown;
}

/** What the app sees as `c.env`: the bindings plus this request's lazily opened database. */
interface RequestEnv extends WorkerEnv {
  requestDatabase: () => Database;
}

interface IsolateRuntime {
  app: App;
  config: Config;
  observability: WorkerObservability;
  logging: WorkerLogger;
}

// One app per isolate, built from the first request's env (env is fixed for an isolate's lifetime).
let runtime: IsolateRuntime | undefined;

function runtimeFor(env: WorkerEnv): IsolateRuntime {
  if (runtime) return runtime;
  const config = parseConfig(env);
  if (!env.HYPERDRIVE && !config.databaseUrl) {
    throw new Error('Invalid configuration:\n  - bind a Hyperdrive config as HYPERDRIVE or set the DATABASE_URL secret');
  }
  // pino's browser build writing the Node logger's ECS JSON to the console, shipped with fetch in waitUntil.
  const logging = createWorkerLogger(config.logging);
  const { logger } = logging;
  const redis = config.upstash ? new Redis(upstashOptions({ ...config.upstash, timeoutMs: config.healthCheckTimeoutMs })) : undefined;
  const observability = createWorkerObservability({ config, logger });
  logging.countInto(observability.metrics);
  const app = createApp({
    database: (c: Context) => (c.env as RequestEnv).requestDatabase(),
    middleware: [observability.middleware, accessLog({ logger })],
    ...(redis ? { redis } : {}),
    logger,
    clientAddress: (c) => c.req.header('cf-connecting-ip'),
    settings: config,
  });
  runtime = { app, config, observability, logging };
  return runtime;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let current: IsolateRuntime;
    try {
      current = runtimeFor(env);
    } catch (error) {
      // A Worker cannot refuse to start: it answers 500 and says why in its log (never in the response).
      console.error(error instanceof Error ? error.message : String(error));
      return Response.json({ error: { code: 'misconfigured', message: 'Service misconfigured' } }, { status: 500 });
    }
    const connectionString = env.HYPERDRIVE?.connectionString ?? current.config.databaseUrl!;
    let database: Database | undefined;
    const requestEnv: RequestEnv = {
      ...env,
      requestDatabase: () =>
        (database ??= createPostgresDatabase(connectionString, { max: 5, fetchTypes: false, connectTimeoutSeconds: 5, wrapClient: current.observability.wrapPostgresClient })),
    };
    try {
      return await current.app.fetch(request, requestEnv, ctx);
    } finally {
      if (database) ctx.waitUntil(database.close());
      current.observability.afterRequest(ctx);
      ctx.waitUntil(current.logging.flush(10_000));
    }
  },
} satisfies ExportedHandler<WorkerEnv>;
