// `npm run gateway`: the gateway alone on Node. Reads the environment (a bad value stops start-up naming
// the variable), serves on GATEWAY_PORT (9091), and on SIGTERM/SIGINT stops accepting, runs the
// shutdown hooks (persistence writes its last snapshot there) and closes the store.
import { serve, type ServerType } from '@hono/node-server';
import pino from 'pino';
import { createGatewayApp } from './app.js';
import { ConfigError } from './config/env.js';
import { loadGatewayConfig, type GatewayConfig } from './config/gateway.js';
import { formatGoFloat } from './core/float.js';
import { renderHeader, type ExpositionFormat } from './core/render.js';
import { groupKey } from './core/grouping.js';
import { MemoryStore } from './store/memory.js';
import { loadSnapshot, startSnapshotting } from './store/persistence.js';
import { RedisStore } from './store/redis.js';
import type { GatewayStore } from './store/types.js';

export interface RunningGateway {
  url: string;
  port: number;
  config: GatewayConfig;
  store: GatewayStore;
  /** Registers work to finish before the store closes on shutdown (e.g. a final snapshot). */
  onShutdown(hook: () => Promise<void>): void;
  stop(): Promise<void>;
}

const startedAtSeconds = Date.now() / 1000;

/** process_* metrics as the official gateway exposes them (a subset): for RSS and CPU comparisons. */
export function processMetrics(format: ExpositionFormat): string {
  const usage = process.cpuUsage();
  const gauge = (name: string, help: string, value: number, type: 'gauge' | 'counter' = 'gauge') => renderHeader({ name, help, type }, format) + `${name} ${formatGoFloat(value)}\n`;
  return (
    gauge('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (usage.user + usage.system) / 1e6, 'counter') +
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', process.memoryUsage.rss()) +
    gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', startedAtSeconds)
  );
}

function createStore(config: GatewayConfig, env: Record<string, string | undefined>): GatewayStore {
  const groupTtlMs = config.groupTtlSeconds * 1000;
  if (config.store === 'redis') {
    const url = env.UPSTASH_REDIS_REST_URL?.trim();
    const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
    if (!url) throw new ConfigError(['UPSTASH_REDIS_REST_URL must be set when GATEWAY_STORE=redis']);
    if (!token) throw new ConfigError(['UPSTASH_REDIS_REST_TOKEN must be set when GATEWAY_STORE=redis']);
    if (config.persistenceFile !== undefined) throw new ConfigError(['GATEWAY_PERSISTENCE_FILE applies to GATEWAY_STORE=memory; with redis, Redis keeps the state (configure its AOF/RDB)']);
    return new RedisStore({ url, token, groupTtlMs, maxSeries: config.maxSeries });
  }
  return new MemoryStore({ maxSeries: config.maxSeries, groupTtlMs });
}

export async function startGateway({ env = process.env, hostname }: { env?: Record<string, string | undefined>; hostname?: string } = {}): Promise<RunningGateway> {
  const config = loadGatewayConfig(env);
  const logger = pino({ level: env.LOG_LEVEL ?? 'info', base: { service: 'pushgateway' } });
  if (config.pushToken === undefined) logger.warn('GATEWAY_PUSH_TOKEN is not set: anyone who reaches the gateway can push and delete');
  const store = createStore(config, env);
  const persistence = store instanceof MemoryStore && config.persistenceFile !== undefined ? await startPersistence(store, config.persistenceFile, config.persistenceIntervalSeconds, logger) : undefined;
  const app = createGatewayApp({ store, config, log: logger, extraMetrics: processMetrics });
  const hooks: Array<() => Promise<void>> = [];
  // A port already in use must be a start-up error naming the variable, not an unhandled 'error' event.
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, ...(hostname ? { hostname } : {}) }, () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => {
      void persistence?.stop();
      void store.close();
      if (error.code === 'EADDRINUSE') reject(new ConfigError([`GATEWAY_PORT ${config.port} is already in use`]));
      else if (hostname && ['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(error.code ?? '')) reject(new ConfigError([`cannot listen on GATEWAY_HOST ${hostname}: ${error.code}`]));
      else reject(error);
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${hostname ?? '127.0.0.1'}:${port}`;
  logger.info({ port, store: config.store }, 'gateway listening');
  let stopping: Promise<void> | undefined;
  if (persistence) hooks.push(persistence.stop);
  return {
    url,
    port,
    config,
    store,
    onShutdown: (hook) => void hooks.push(hook),
    stop: () =>
      (stopping ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        for (const hook of hooks) {
          try {
            await hook();
          } catch (error) {
            logger.error({ err: (error as Error).message }, 'shutdown hook failed');
          }
        }
        await store.close();
        logger.info('gateway stopped');
      })()),
  };
}

/** Loads the snapshot (a corrupt one is moved aside and reported) and keeps writing new ones. */
async function startPersistence(store: MemoryStore, file: string, intervalSeconds: number, logger: pino.Logger) {
  const loaded = await loadSnapshot(file, groupKey);
  if (loaded.status === 'loaded') {
    store.restore(loaded.snapshot);
    logger.info({ file, groups: loaded.snapshot.groups.length }, 'persistence: snapshot loaded');
  } else if (loaded.status === 'corrupt') {
    logger.error({ file, reason: loaded.reason, movedTo: loaded.movedTo }, 'persistence: the snapshot is corrupt; it was moved aside and the gateway starts empty');
  } else {
    logger.info({ file }, 'persistence: no snapshot yet; starting empty');
  }
  return startSnapshotting({
    file,
    intervalMs: intervalSeconds * 1000,
    source: store,
    log: { info: (message) => logger.info(message), error: (message) => logger.error(message) },
  });
}

if (import.meta.main) {
  try {
    // GATEWAY_HOST: the interface to bind (default: every interface, as a server in a container needs);
    // 127.0.0.1 keeps it local, as the tests do.
    const gateway = await startGateway({ hostname: process.env.GATEWAY_HOST?.trim() || undefined });
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        void gateway.stop().then(() => process.exit(0));
      });
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`gateway: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
