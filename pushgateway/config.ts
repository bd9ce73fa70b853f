// Gateway configuration from the environment (names fixed by DESIGN.md). Every value is checked at
// start-up; a bad one stops the gateway with a message naming the variable, never a silent default.
export interface GatewayConfig {
  port: number;
  /** Bearer token for PUT/POST/DELETE; undefined = pushes are open (logged as a warning). */
  pushToken: string | undefined;
  /** Basic-auth credentials for reads; undefined = reads are open. */
  scrape: { user: string; password: string } | undefined;
  store: 'memory' | 'redis';
  persistenceFile: string | undefined;
  /** How often the snapshot is written (and always on shutdown). */
  persistenceIntervalSeconds: number;
  /** 0 = groups never expire. */
  groupTtlSeconds: number;
  maxBodyBytes: number;
  /** 0 = no limit on stored series. */
  maxSeries: number;
  enableAdminApi: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const defaultGatewayConfig: GatewayConfig = {
  port: 9091,
  pushToken: undefined,
  scrape: undefined,
  store: 'memory',
  persistenceFile: undefined,
  persistenceIntervalSeconds: 5,
  groupTtlSeconds: 0,
  maxBodyBytes: 16 * 1024 * 1024,
  maxSeries: 1_000_000,
  enableAdminApi: false,
};

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, { min, max }: { min: number; max: number }): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const normalized = raw.trim().toLowerCase();
  if (normalized === 'true' || normalized === '1') return true;
  if (normalized === 'false' || normalized === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

export function loadGatewayConfig(env: Env): GatewayConfig {
  const store = nonEmpty(env, 'GATEWAY_STORE') ?? defaultGatewayConfig.store;
  if (store !== 'memory' && store !== 'redis') throw new ConfigError(`GATEWAY_STORE must be "memory" or "redis", got ${JSON.stringify(store)}`);
  const user = nonEmpty(env, 'GATEWAY_SCRAPE_USER');
  const password = nonEmpty(env, 'GATEWAY_SCRAPE_PASSWORD');
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError(`${user === undefined ? 'GATEWAY_SCRAPE_USER' : 'GATEWAY_SCRAPE_PASSWORD'} must be set together with ${user === undefined ? 'GATEWAY_SCRAPE_PASSWORD' : 'GATEWAY_SCRAPE_USER'}`);
  }
  return {
    port: integer(env, 'GATEWAY_PORT', defaultGatewayConfig.port, { min: 0, max: 65_535 }),
    pushToken: nonEmpty(env, 'GATEWAY_PUSH_TOKEN'),
    scrape: user !== undefined && password !== undefined ? { user, password } : undefined,
    store,
    persistenceFile: nonEmpty(env, 'GATEWAY_PERSISTENCE_FILE'),
    persistenceIntervalSeconds: integer(env, 'GATEWAY_PERSISTENCE_INTERVAL_SECONDS', defaultGatewayConfig.persistenceIntervalSeconds, { min: 1, max: 86_400 }),
    groupTtlSeconds: integer(env, 'GATEWAY_GROUP_TTL_SECONDS', defaultGatewayConfig.groupTtlSeconds, { min: 0, max: 10 * 365 * 86_400 }),
    maxBodyBytes: integer(env, 'GATEWAY_MAX_BODY_BYTES', defaultGatewayConfig.maxBodyBytes, { min: 1, max: 1024 * 1024 * 1024 }),
    maxSeries: integer(env, 'GATEWAY_MAX_SERIES', defaultGatewayConfig.maxSeries, { min: 0, max: 100_000_000 }),
    enableAdminApi: boolean(env, 'GATEWAY_ENABLE_ADMIN_API', defaultGatewayConfig.enableAdminApi),
  };
}
