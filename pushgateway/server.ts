// The gateway as a library for a Node process that runs it beside other servers (the API's `npm start`).
// Adapter over node.ts's env-reading startGateway, so callers already pass the one parsed GatewayConfig;
// it gives way to the gateway's own server module, which takes the config directly.
import type { Logger } from 'pino';
import type { GatewayConfig } from './config/gateway.js';
import { startGateway as startFromEnv, type RunningGateway } from './node.js';

export type { RunningGateway } from './node.js';

export async function startGateway({ config, logger }: { config: GatewayConfig; logger?: Logger }): Promise<RunningGateway> {
  const env: Record<string, string | undefined> = {
    LOG_LEVEL: logger?.level ?? process.env.LOG_LEVEL,
    GATEWAY_PORT: String(config.port),
    GATEWAY_STORE: config.store,
    GATEWAY_PUSH_TOKEN: config.pushToken,
    GATEWAY_SCRAPE_USER: config.scrape?.user,
    GATEWAY_SCRAPE_PASSWORD: config.scrape?.password,
    UPSTASH_REDIS_REST_URL: config.upstash?.url,
    UPSTASH_REDIS_REST_TOKEN: config.upstash?.token,
    GATEWAY_PERSISTENCE_FILE: config.persistenceFile,
    GATEWAY_PERSISTENCE_INTERVAL_SECONDS: String(config.persistenceIntervalSeconds),
    GATEWAY_GROUP_TTL_SECONDS: String(config.groupTtlSeconds),
    GATEWAY_MAX_BODY_BYTES: String(config.maxBodyBytes),
    GATEWAY_MAX_SERIES: String(config.maxSeries),
    GATEWAY_ENABLE_ADMIN_API: String(config.enableAdminApi),
  };
  return startFromEnv({ env, ...(config.host ? { hostname: config.host } : {}) });
}
