// Node entry (`npm start`): configuration from the environment, the database (migrated), optional
// Upstash Redis, the in-process gateway when PUSHGATEWAY_URL is unset, metrics pushed to it, the app on PORT;
// graceful shutdown on SIGTERM/SIGINT.
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Redis } from '@upstash/redis';
import { ConfigError } from '../pushgateway/config/env.js';
import { startGateway } from '../pushgateway/server.js';
import { createApp } from './app.js';
import { type Config, loadConfig } from './config.js';
import { openDatabase } from './db/node.js';
import { createNodeLogging } from './logging/node.js';
import { createNodeObservability, type PushTarget } from './observability/node.js';
import { upstashOptions } from './redis.js';
import { createShutdownHooks } from './shutdown.js';

function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

const config = configOrExit();
// ECS JSON to stdout, to LOG_FILE (rotated) and to Elasticsearch when ELASTICSEARCH_URL is set.
const logging = createNodeLogging(config.logging);
const { logger } = logging;
const shutdownHooks = createShutdownHooks();
// Registered first, so it runs last: the other hooks' lines are shipped too.
shutdownHooks.add('log shipping', (budgetMs) => logging.flush(budgetMs));

/** A start-up step failed: one clear line, what was started is stopped (logs flushed), exit 1. */
function exitOnStartupFailure(what: string) {
  return async (error: unknown): Promise<never> => {
    logger.fatal({ err: error }, `${what}: ${error instanceof Error ? error.message : String(error)}`);
    await shutdownHooks.run({ logger, timeoutMs: config.shutdownTimeoutMs });
    process.exit(1);
  };
}

const observability = createNodeObservability({ config, logger });
logging.countInto(observability.metrics);
// Unreachable PostgreSQL, a failed migration, a PGLITE_DIR in use.
const database = await openDatabase(config, {
  wrapPostgresClient: observability.wrapPostgresClient,
  wrapPgliteClient: observability.wrapPgliteClient,
}).catch(exitOnStartupFailure('cannot open the database'));
shutdownHooks.add('database', () => database.close());
logger.info(
  { driver: database.driver },
  database.driver === 'pglite' ? `database: embedded PGlite in ${config.pgliteDir}` : 'database: PostgreSQL (DATABASE_URL)',
);

const redis = config.upstash ? new Redis(upstashOptions({ ...config.upstash, timeoutMs: config.healthCheckTimeoutMs })) : undefined;
if (!redis) logger.info('UPSTASH_REDIS_REST_URL not set: cache and rate limit are off');

// Without PUSHGATEWAY_URL the gateway runs in this process, so `npm start` alone shows metrics on :9091/metrics.
// Its hook is registered before the final push's, so it stops after that push.
let push: PushTarget;
if (config.pushgatewayUrl) {
  push = { url: config.pushgatewayUrl, ...(config.pushgatewayToken ? { token: config.pushgatewayToken } : {}) };
} else {
  // e.g. GATEWAY_PORT already taken by another process.
  // Through the API's logger (ECS, shipped and rotated with the API's lines), marked as the gateway's in log.logger.
  const gateway = await startGateway({ config: config.gateway, logger: logger.child({ 'log.logger': 'pushgateway' }) }).catch(
    exitOnStartupFailure('cannot start the in-process gateway'),
  );
  shutdownHooks.add('in-process gateway', () => gateway.stop());
  const loopbackOnly = !config.gateway.pushToken && config.gateway.host === '127.0.0.1';
  const reach = loopbackOnly
    ? ', loopback only as GATEWAY_PUSH_TOKEN is not set (set it, or GATEWAY_HOST, to reach it from elsewhere)'
    : '';
  logger.info(
    { url: `http://localhost:${gateway.port}/metrics`, host: config.gateway.host },
    `PUSHGATEWAY_URL not set: gateway started in this process on ${config.gateway.host}:${gateway.port}${reach}`,
  );
  // It honours GATEWAY_PUSH_TOKEN like a standalone one; pushed with that token unless PUSHGATEWAY_TOKEN is given.
  const token = config.pushgatewayToken ?? config.gateway.pushToken;
  push = { url: `http://127.0.0.1:${gateway.port}`, ...(token ? { token } : {}) };
}
// Collectors and the pusher (every PUSH_INTERVAL_MS; the final push is a shutdown hook that runs before the
// database closes).
await observability.start({ shutdownHooks, push }).catch(exitOnStartupFailure('cannot start metrics'));

const app = createApp({
  database,
  ...(redis ? { redis } : {}),
  logger,
  observe: {
    metrics: observability.metrics,
    accessLog: {
      logger,
      write: logging.accessLine,
      ...(config.logging.accessLogSkipRoutes ? { skipRoutes: config.logging.accessLogSkipRoutes } : {}),
    },
  },
  clientAddress: config.clientIpHeader ? (c) => c.req.header(config.clientIpHeader!) : (c) => getConnInfo(c).remote.address,
  settings: { ...config, serviceName: config.logging.serviceName },
});

const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const base = `http://${shownHost}:${info.port}`;
  logger.info({ url: base }, `API listening on ${base} — health ${base}/api/health, users ${base}/api/users`);
});
server.on('error', (error) => {
  logger.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}`);
  void shutdownHooks.run({ logger, timeoutMs: config.shutdownTimeoutMs }).finally(() => process.exit(1));
});

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  // A second signal waits for the same, bounded shutdown: exiting at once would drop the final push and the logs
  // still buffered for Elasticsearch.
  if (stopping) {
    logger.warn(`${signal} again: already stopping (bounded by SHUTDOWN_TIMEOUT_MS)`);
    return;
  }
  stopping = true;
  logger.info(`${signal}: no new connections; finishing requests in flight`);
  // close() stops accepting and resolves once in-flight requests are done (idle keep-alive sockets
  // are closed by Node itself); a request still running after the budget is cut off.
  const forceTimer = setTimeout(() => {
    logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'requests still running after the shutdown budget; closing their connections');
    if ('closeAllConnections' in server) server.closeAllConnections();
  }, config.shutdownTimeoutMs);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  clearTimeout(forceTimer);
  await shutdownHooks.run({ logger, timeoutMs: config.shutdownTimeoutMs });
  logger.info('stopped');
  await logging.close(2_000);
  process.exit(0);
}
// A second signal while stopping exits at once (an impatient Ctrl-C).
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
