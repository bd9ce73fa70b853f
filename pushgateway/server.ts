// The gateway's Node server: the app over the store the configuration chooses, served on config.port
// (and config.host). Used by `npm run gateway` (node.ts), by the API when it runs the gateway in its own
// process, and by tests. It reads no environment: the caller passes a parsed GatewayConfig. stop() stops
// accepting, sends the last remote-write snapshot, writes the last persistence snapshot and closes the store.

import type { Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import { ecsFormat } from '@elastic/ecs-pino-format';
import { type ServerType, serve } from '@hono/node-server';
import pino from 'pino';
import { createGatewayApp, gatewayVersion } from './app.js';
import { ConfigError } from './config/env.js';
import type { GatewayConfig } from './config/gateway.js';
import type { ExpositionFormat } from './core/exposition-format.js';
import { groupKey } from './core/grouping.js';
import type { GatewayLog } from './http/push.js';
import { processMetrics } from './process-metrics.js';
import type { RemoteWriteLease, RunningRemoteWrite } from './remote-write/index.js';
import { createStore } from './store/create.js';
import { MemoryStore } from './store/memory.js';
import { loadSnapshot, startSnapshotting } from './store/persistence.js';
import { RedisStore } from './store/redis.js';
import { ReplicaHeartbeats, type ReplicaIdentity, type RunningHeartbeat, startHeartbeat } from './store/replica-heartbeats.js';
import type { GatewayStore } from './store/types.js';

export interface GatewayLogger extends GatewayLog {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface RunningGateway {
  url: string;
  port: number;
  config: GatewayConfig;
  store: GatewayStore;
  stop(): Promise<void>;
}

/** pino's level names, for reading LOG_LEVEL with the EnvReader. */
export const logLevels = [...Object.keys(pino.levels.values), 'silent'];

/**
 * The standalone gateway's logger: ECS JSON lines as the API writes them (`@elastic/ecs-pino-format`), so one
 * format is on stdout and in Elasticsearch whichever process runs the gateway. Inside the API the gateway logs
 * through a child of the API's own logger instead (api/node.ts), which also ships its lines.
 */
export function createGatewayLogger(level = 'info'): GatewayLogger {
  return pino({ ...ecsFormat({ apmIntegration: false, serviceName: 'pushgateway' }), level });
}

export async function startGateway({
  config,
  logger = createGatewayLogger(),
}: {
  config: GatewayConfig;
  logger?: GatewayLogger;
}): Promise<RunningGateway> {
  if (config.pushToken === undefined) logger.warn({}, 'GATEWAY_PUSH_TOKEN is not set: anyone who reaches the gateway can push and delete');
  // Remote write and the Redis client are imported only when configured (build.ts keeps them in their own chunks).
  const redisTcp = config.store === 'redis' && config.redisTcp ? (await import('./store/redis-tcp.js')).redisTcpCommands : undefined;
  const store = createStore(config, redisTcp ? { redisTcp } : {});
  const persistence =
    store instanceof MemoryStore && config.persistenceFile !== undefined
      ? await startPersistence(store, config.persistenceFile, config.persistenceIntervalSeconds, logger)
      : undefined;
  // Started once the port is bound, so a gateway that fails to start sends nothing.
  let remoteWrite: RunningRemoteWrite | undefined;
  const extraMetrics = (format: ExpositionFormat) => processMetrics(format) + (remoteWrite?.metricsText(format) ?? '');
  // On a shared Redis store this process is one replica among others: the status page lists the live ones.
  const replica: ReplicaIdentity | undefined =
    store instanceof RedisStore
      ? { id: `${hostname()}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`, startedAtMs: Date.now(), version: gatewayVersion }
      : undefined;
  const app = createGatewayApp({ store, config, log: logger, extraMetrics, ...(replica ? { replica } : {}) });
  const { host } = config;
  // A port already in use must be a start-up error naming the variable, not an unhandled 'error' event.
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, ...(host ? { hostname: host } : {}) }, () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => {
      void persistence?.stop();
      void store.close();
      if (error.code === 'EADDRINUSE') reject(new ConfigError([`GATEWAY_PORT ${config.port} is already in use`]));
      else if (host && ['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(error.code ?? ''))
        reject(new ConfigError([`cannot listen on GATEWAY_HOST ${host}: ${error.code}`]));
      else reject(error);
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, store: store instanceof RedisStore ? store.commands.description : config.store }, 'gateway listening');
  const heartbeat: RunningHeartbeat | undefined =
    replica && store instanceof RedisStore
      ? startHeartbeat(new ReplicaHeartbeats(store.commands, config.redisKeyPrefix), replica, {
          onError: (error) =>
            logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'replica heartbeat: writing to Redis failed'),
        })
      : undefined;
  if (config.remoteWrite) {
    const [{ startRemoteWrite, MemoryLease, RedisLease }, { displayUrl }] = await Promise.all([
      import('./remote-write/index.js'),
      import('./remote-write/destination.js'),
    ]);
    // Replicas on one Redis store share the lease there, so one of them sends; a memory store has one owner.
    const lease: RemoteWriteLease = store instanceof RedisStore ? new RedisLease(store.commands) : new MemoryLease();
    remoteWrite = startRemoteWrite({ config: config.remoteWrite, store, lease, logger });
    logger.info(
      { urls: config.remoteWrite.urls.map(displayUrl), intervalSeconds: config.remoteWrite.intervalSeconds },
      'remote write: sending',
    );
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host ?? '127.0.0.1'}:${port}`,
    port,
    config,
    store,
    stop: () =>
      (stopping ??= (async () => {
        await closeServer(server);
        // Before the store closes: the heartbeat leaves through the store's connection.
        await heartbeat?.stop();
        // Before the store closes: the last snapshot is read from it.
        await stopRemoteWrite(remoteWrite);
        // Never rejects: a failed write is logged and counted by the snapshotter, and the store still closes.
        await persistence?.stop();
        await store.close();
        logger.info({}, 'gateway stopped');
      })()),
  };
}

/** A last send, bounded so a receiver that is down cannot hold shutdown; never rejects. */
/** How long requests in flight may run once stopping began, before their connections are closed. */
const IN_FLIGHT_DEADLINE_MS = 5_000;

/**
 * Stops accepting and waits for requests in flight, but not for clients: idle keep-alive connections are closed
 * at once, and whatever is still open after the deadline (a half-sent body, a stalled reader) is cut, so the last
 * snapshot is written well inside an orchestrator's grace period.
 */
async function closeServer(server: ServerType): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const http = server as Partial<HttpServer>;
  http.closeIdleConnections?.();
  const deadline = setTimeout(() => http.closeAllConnections?.(), IN_FLIGHT_DEADLINE_MS);
  deadline.unref();
  await closed;
  clearTimeout(deadline);
}

async function stopRemoteWrite(remoteWrite: RunningRemoteWrite | undefined): Promise<void> {
  await remoteWrite?.stop(5_000).catch(() => undefined);
}

/** Loads the snapshot (a corrupt one is moved aside and reported) and keeps writing new ones. */
async function startPersistence(store: MemoryStore, file: string, intervalSeconds: number, logger: GatewayLogger) {
  const loaded = await loadSnapshot(file, groupKey);
  if (loaded.status === 'loaded') {
    store.restore(loaded.snapshot);
    logger.info({ file, groups: loaded.snapshot.groups.length }, 'persistence: snapshot loaded');
  } else if (loaded.status === 'corrupt') {
    logger.error(
      { file, reason: loaded.reason, movedTo: loaded.movedTo },
      'persistence: the snapshot is corrupt; it was moved aside and the gateway starts empty',
    );
  } else {
    logger.info({ file }, 'persistence: no snapshot yet; starting empty');
  }
  return startSnapshotting({
    file,
    intervalMs: intervalSeconds * 1000,
    source: store,
    log: { info: (message) => logger.info({}, message), error: (message) => logger.error({}, message) },
  });
}
