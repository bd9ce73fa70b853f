// Gateway settings (names fixed by DESIGN.md), read with the shared EnvReader so a bad value stops start-up
// with a message naming the variable, together with every other problem. The API reads these too when it
// runs the gateway in its own process (readGatewayConfig into the API's reader).
import { DEFAULT_MAX_OTLP_STREAM_BYTES, STREAM_HEAP_BYTES } from '../core/delta-windows.js';
import { DEFAULT_MAX_IDEMPOTENCY_BYTES, IDEMPOTENCY_KEY_HEAP_BYTES } from '../core/idempotency.js';
import { type RemoteWriteConfig, readRemoteWriteConfig } from '../remote-write/config.js';
import { DEFAULT_MAX_OPERATION_ID_BYTES, REDIS_OPERATION_ID_BYTES } from '../store/redis.js';
import { DEFAULT_REDIS_KEY_PREFIX, hasHashTag } from '../store/redis-commands.js';
import type { RedisTcpTarget } from '../store/redis-tcp.js';
import { type Env, EnvReader } from './env.js';

export interface GatewayConfig {
  port: number;
  /** Interface to bind on Node; undefined = every interface (a server in a container needs that). */
  host: string | undefined;
  /** Bearer token for PUT/POST/DELETE; undefined = pushes are open (logged as a warning). */
  pushToken: string | undefined;
  /** Basic-auth credentials for reads; undefined = reads are open. */
  scrape: { user: string; password: string } | undefined;
  store: 'memory' | 'redis';
  /** Upstash REST endpoint of the Redis store; set when store is 'redis' and no TCP target is. */
  upstash: { url: string; token: string } | undefined;
  /** GATEWAY_REDIS_URL or GATEWAY_REDIS_CLUSTER_NODES: the Redis store over RESP/TCP (Node); wins over Upstash. */
  redisTcp: RedisTcpTarget | undefined;
  /** Prefix of every Redis key; holds a hash tag so one gateway's keys share a cluster slot. */
  redisKeyPrefix: string;
  /** Workers: Durable Objects the groups are spread over by grouping key (GATEWAY_DO_SHARDS). */
  durableObjectShards: number;
  persistenceFile: string | undefined;
  /** How often the snapshot is written (and always on shutdown). */
  persistenceIntervalSeconds: number;
  /** 0 = groups never expire. */
  groupTtlSeconds: number;
  maxBodyBytes: number;
  /** 0 = no limit on stored series. */
  maxSeries: number;
  /** Longest label value in UTF-8 bytes; 0 = no limit. */
  maxLabelValueBytes: number;
  /** Most labels on one series (grouping labels and instance included); 0 = no limit. */
  maxLabelsPerSeries: number;
  /** Bytes of series text (sample lines and group keys) the memory store may hold; 0 = no limit. */
  maxStoredBytes: number;
  /** Memory the remembered Idempotency-Keys may take (heap of the memory store and Durable Object, Redis memory); past it the oldest are forgotten. */
  maxIdempotencyBytes: number;
  /** Redis memory the push calls' operation ids (transport retries answered once) may take; past it the oldest are forgotten. */
  maxOperationIdBytes: number;
  /** Heap the last windows of OTLP delta streams may take (core/delta-windows); past it the oldest are forgotten. */
  maxOtlpStreamBytes: number;
  enableAdminApi: boolean;
  /** Metric and label names may be any UTF-8 (as the official --push.enable-utf8-names); false = legacy names only. */
  enableUtf8Names: boolean;
  /** GATEWAY_REMOTE_WRITE_*; undefined = remote write off. */
  remoteWrite: RemoteWriteConfig | undefined;
  /** URL under which the gateway is reached from outside (as --web.external-url); undefined = not set. */
  externalUrl: string | undefined;
  /** Prefix of every route, "" or "/path" (as --web.route-prefix; defaults to the external URL's path). */
  routePrefix: string;
}

export const defaultGatewayConfig: GatewayConfig = {
  port: 9091,
  host: undefined,
  pushToken: undefined,
  scrape: undefined,
  store: 'memory',
  upstash: undefined,
  redisTcp: undefined,
  redisKeyPrefix: DEFAULT_REDIS_KEY_PREFIX,
  durableObjectShards: 1,
  persistenceFile: undefined,
  persistenceIntervalSeconds: 5,
  groupTtlSeconds: 0,
  maxBodyBytes: 16 * 1024 * 1024,
  maxSeries: 1_000_000,
  maxLabelValueBytes: 4096,
  maxLabelsPerSeries: 64,
  maxStoredBytes: 128 * 1024 * 1024,
  maxIdempotencyBytes: DEFAULT_MAX_IDEMPOTENCY_BYTES,
  maxOperationIdBytes: DEFAULT_MAX_OPERATION_ID_BYTES,
  maxOtlpStreamBytes: DEFAULT_MAX_OTLP_STREAM_BYTES,
  enableAdminApi: false,
  enableUtf8Names: false,
  remoteWrite: undefined,
  externalUrl: undefined,
  routePrefix: '',
};

/** The effective route prefix as the official computeRoutePrefix (main.go): leading "/", no trailing "/", "/" = none. */
export function computeRoutePrefix(prefix: string | undefined, externalUrl: string | undefined): string {
  let effective = prefix ?? (externalUrl === undefined ? '' : new URL(externalUrl).pathname);
  if (effective === '/' || effective === '') return '';
  if (!effective.startsWith('/')) effective = `/${effective}`;
  return effective.replace(/\/+$/, '');
}

/** Reads the gateway's variables into `reader`; problems are recorded there, not thrown. */
export function readGatewayConfig(reader: EnvReader): GatewayConfig {
  const defaults = defaultGatewayConfig;
  const redisTcp = readRedisTcpTarget(reader);
  // A TCP Redis setting alone selects the Redis store; naming the memory store as well is a contradiction.
  const store = reader.oneOf('GATEWAY_STORE', ['memory', 'redis'], redisTcp ? 'redis' : defaults.store);
  if (redisTcp && store !== 'redis')
    reader.problem('GATEWAY_REDIS_URL and GATEWAY_REDIS_CLUSTER_NODES need GATEWAY_STORE=redis (or unset)');
  const user = reader.string('GATEWAY_SCRAPE_USER');
  const password = reader.string('GATEWAY_SCRAPE_PASSWORD');
  if ((user === undefined) !== (password === undefined)) {
    reader.problem(
      user === undefined
        ? 'GATEWAY_SCRAPE_PASSWORD must be set together with GATEWAY_SCRAPE_USER'
        : 'GATEWAY_SCRAPE_USER must be set together with GATEWAY_SCRAPE_PASSWORD',
    );
  }
  const persistenceFile = reader.string('GATEWAY_PERSISTENCE_FILE');
  let upstash: GatewayConfig['upstash'];
  if (store === 'redis' && !redisTcp) {
    const url = reader.url('UPSTASH_REDIS_REST_URL', ['http:', 'https:']);
    const token = reader.string('UPSTASH_REDIS_REST_TOKEN');
    if (!reader.string('UPSTASH_REDIS_REST_URL')) reader.problem('UPSTASH_REDIS_REST_URL must be set when GATEWAY_STORE=redis');
    if (!token) reader.problem('UPSTASH_REDIS_REST_TOKEN must be set when GATEWAY_STORE=redis');
    if (url && token) upstash = { url, token };
  }
  if (store === 'redis') {
    if (persistenceFile !== undefined) {
      reader.problem('GATEWAY_PERSISTENCE_FILE applies to GATEWAY_STORE=memory; with redis, Redis keeps the state (configure its AOF/RDB)');
    }
  }
  const externalUrl = reader.url('GATEWAY_EXTERNAL_URL', ['http:', 'https:']);
  const prefixSetting = reader.string('GATEWAY_ROUTE_PREFIX');
  if (prefixSetting !== undefined && !/^[A-Za-z0-9/._~-]*$/.test(prefixSetting))
    reader.problem('GATEWAY_ROUTE_PREFIX must be a path such as /pushgateway (letters, digits, / . _ ~ -)');
  const routePrefix = computeRoutePrefix(prefixSetting, externalUrl);
  return {
    port: reader.integer('GATEWAY_PORT', defaults.port, 0, 65_535),
    host: reader.string('GATEWAY_HOST'),
    pushToken: reader.string('GATEWAY_PUSH_TOKEN'),
    scrape: user !== undefined && password !== undefined ? { user, password } : undefined,
    store,
    upstash,
    redisTcp: store === 'redis' ? redisTcp : undefined,
    redisKeyPrefix: readRedisKeyPrefix(reader, defaults.redisKeyPrefix),
    durableObjectShards: reader.integer('GATEWAY_DO_SHARDS', defaults.durableObjectShards, 1, 256),
    persistenceFile,
    persistenceIntervalSeconds: reader.integer('GATEWAY_PERSISTENCE_INTERVAL_SECONDS', defaults.persistenceIntervalSeconds, 1, 86_400),
    groupTtlSeconds: reader.integer('GATEWAY_GROUP_TTL_SECONDS', defaults.groupTtlSeconds, 0, 10 * 365 * 86_400),
    maxBodyBytes: reader.integer('GATEWAY_MAX_BODY_BYTES', defaults.maxBodyBytes, 1, 1024 * 1024 * 1024),
    maxSeries: reader.integer('GATEWAY_MAX_SERIES', defaults.maxSeries, 0, 100_000_000),
    maxLabelValueBytes: reader.integer('GATEWAY_MAX_LABEL_VALUE_BYTES', defaults.maxLabelValueBytes, 0, 1024 * 1024 * 1024),
    maxLabelsPerSeries: reader.integer('GATEWAY_MAX_LABELS_PER_SERIES', defaults.maxLabelsPerSeries, 0, 100_000),
    maxStoredBytes: reader.integer('GATEWAY_MAX_STORED_BYTES', defaults.maxStoredBytes, 0, 64 * 1024 * 1024 * 1024),
    maxIdempotencyBytes: reader.integer(
      'GATEWAY_MAX_IDEMPOTENCY_BYTES',
      defaults.maxIdempotencyBytes,
      IDEMPOTENCY_KEY_HEAP_BYTES,
      64 * 1024 * 1024 * 1024,
    ),
    maxOperationIdBytes: reader.integer(
      'GATEWAY_MAX_OPERATION_ID_BYTES',
      defaults.maxOperationIdBytes,
      REDIS_OPERATION_ID_BYTES,
      64 * 1024 * 1024 * 1024,
    ),
    maxOtlpStreamBytes: reader.integer(
      'GATEWAY_MAX_OTLP_STREAM_BYTES',
      defaults.maxOtlpStreamBytes,
      STREAM_HEAP_BYTES,
      64 * 1024 * 1024 * 1024,
    ),
    enableAdminApi: reader.boolean('GATEWAY_ENABLE_ADMIN_API', defaults.enableAdminApi),
    enableUtf8Names: reader.boolean('GATEWAY_ENABLE_UTF8_NAMES', defaults.enableUtf8Names),
    remoteWrite: readRemoteWriteConfig(reader),
    externalUrl,
    routePrefix,
  };
}

const redisProtocols = ['redis:', 'rediss:'];

function readRedisKeyPrefix(reader: EnvReader, fallback: string): string {
  const prefix = reader.string('GATEWAY_REDIS_KEY_PREFIX');
  if (prefix === undefined) return fallback;
  if (hasHashTag(prefix)) return prefix;
  reader.problem(
    `GATEWAY_REDIS_KEY_PREFIX must hold a hash tag such as {pushgateway}: (all of a gateway's keys in one cluster slot), got ${JSON.stringify(prefix)}`,
  );
  return fallback;
}

/** GATEWAY_REDIS_URL (one Redis) or GATEWAY_REDIS_CLUSTER_NODES (comma-separated seed nodes of a cluster). */
function readRedisTcpTarget(reader: EnvReader): RedisTcpTarget | undefined {
  const url = reader.url('GATEWAY_REDIS_URL', redisProtocols);
  const nodesSetting = reader.string('GATEWAY_REDIS_CLUSTER_NODES');
  if (nodesSetting === undefined) return url === undefined ? undefined : { url };
  if (reader.string('GATEWAY_REDIS_URL') !== undefined) {
    reader.problem('set GATEWAY_REDIS_URL (one Redis) or GATEWAY_REDIS_CLUSTER_NODES (a cluster), not both');
    return undefined;
  }
  const nodes = nodesSetting.split(',').map((node) => node.trim());
  for (const node of nodes) {
    let protocol: string | undefined;
    try {
      protocol = new URL(node).protocol;
    } catch {}
    // Never echoed: the URLs may carry the password.
    if (protocol === undefined || !redisProtocols.includes(protocol)) {
      reader.problem('GATEWAY_REDIS_CLUSTER_NODES must be a comma-separated list of redis:// or rediss:// URLs');
      return undefined;
    }
  }
  return { clusterNodes: nodes };
}

/** The gateway's settings from an environment; throws one ConfigError naming every bad variable. */
export function loadGatewayConfig(env: Env): GatewayConfig {
  const reader = new EnvReader(env);
  return reader.finish(readGatewayConfig(reader));
}
