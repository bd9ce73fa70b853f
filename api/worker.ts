// Cloudflare Workers entry. Configuration comes from `env` (vars and secrets, same names as on Node).
// Each request that touches the database opens its own client (db/worker.ts), through Hyperdrive (binding
// HYPERDRIVE) or, without it, DATABASE_URL directly.
import { Redis } from '@upstash/redis/cloudflare';
import type { Context } from 'hono';
import { EnvReader } from '../pushgateway/config/env.js';
import { type App, createApp } from './app.js';
import { type Config, checkWorkerLimits, readConfig } from './config.js';
import type { Database } from './db/types.js';
import { openRequestDatabase } from './db/worker.js';
import { createWorkerLogging, type WorkerLogging } from './logging/worker.js';
import { createWorkerObservability, type WorkerObservability } from './observability/worker.js';
import { upstashOptions } from './redis.js';

export interface WorkerEnv {
  HYPERDRIVE?: Hyperdrive;
  /** The gateway Worker as a Service Binding (wrangler.toml [[services]]); else pushes go to PUSHGATEWAY_URL. */
  PUSHGATEWAY?: Fetcher;
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
  logging: WorkerLogging;
}

// One app per isolate, built from the first request's env (env is fixed for an isolate's lifetime).
let runtime: IsolateRuntime | undefined;

function runtimeFor(env: WorkerEnv): IsolateRuntime {
  if (runtime) return runtime;
  const reader = new EnvReader(env);
  const config = readConfig(reader);
  if (!env.HYPERDRIVE && !config.databaseUrl) reader.problem('bind a Hyperdrive config as HYPERDRIVE or set the DATABASE_URL secret');
  checkWorkerLimits(reader, config);
  reader.finish(config);
  // pino's browser build writing the Node logger's ECS JSON, shipped with fetch in waitUntil, the lines of many
  // requests per bulk request. A flush counts what it shipped into log_events_*: those increments open a push window.
  const logging = createWorkerLogging(config.logging, { afterFlush: (ctx) => observability.afterRequest(ctx) });
  const { logger } = logging;
  const redis = config.upstash ? new Redis(upstashOptions({ ...config.upstash, timeoutMs: config.healthCheckTimeoutMs })) : undefined;
  const observability = createWorkerObservability({
    config,
    logger,
    ...(env.PUSHGATEWAY ? { gatewayBinding: env.PUSHGATEWAY } : {}),
    // A push that failed logged why after the response; that line joins the current log batch.
    afterPush: (ctx) => logging.afterRequest(ctx),
  });
  logging.countInto(observability.metrics);
  const app = createApp({
    database: (c: Context) => (c.env as RequestEnv).requestDatabase(),
    observe: {
      metrics: observability.metrics,
      accessLog: {
        logger,
        write: logging.accessLine,
        ...(config.logging.accessLogSkipRoutes ? { skipRoutes: config.logging.accessLogSkipRoutes } : {}),
      },
    },
    ...(redis ? { redis } : {}),
    logger,
    clientAddress: (c) => c.req.header('cf-connecting-ip'),
    settings: { ...config, serviceName: config.logging.serviceName },
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
      requestDatabase: () => (database ??= openRequestDatabase(connectionString, current.observability.wrapPostgresClient)),
    };
    try {
      return await current.app.fetch(request, requestEnv, ctx);
    } finally {
      if (database) ctx.waitUntil(database.close());
      // Batched across the requests this isolate serves: most requests send nothing (api/flush-window.ts).
      current.observability.afterRequest(ctx);
      current.logging.afterRequest(ctx);
    }
  },
} satisfies ExportedHandler<WorkerEnv>;
