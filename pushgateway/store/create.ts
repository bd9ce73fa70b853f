// The one place a store is chosen from the parsed configuration, for the Node server and the Worker alike.
// GATEWAY_STORE=memory means this process's memory on Node and, on Workers (where an isolate's memory is
// neither shared nor durable), the memory of the one Durable Object given as a binding.
import { ConfigError } from '../config/env.js';
import type { GatewayConfig } from '../config/gateway.js';
import { streamsFor } from '../core/delta-windows.js';
import { idempotencyKeysFor } from '../core/idempotency.js';
import type { GatewayStoreObject } from './durable-object.js';
import { DurableObjectStore } from './durable-object-store.js';
import { MemoryStore, type MemoryStoreOptions } from './memory.js';
import { RedisStore, type RedisStoreOptions, redisIdempotencyKeysFor, redisOperationIdsFor, redisStreamsFor } from './redis.js';
import type { RedisCommands } from './redis-commands.js';
import { upstashCommands } from './redis-rest.js';
import type { RedisTcpTarget } from './redis-tcp.js';
import type { GatewayStore } from './types.js';

export interface StoreBindings {
  /** Workers: the Durable Object namespace that holds the memory store. */
  gatewayState?: DurableObjectNamespace<GatewayStoreObject>;
  /**
   * Node: the RESP/TCP transport (redis-tcp.ts redisTcpCommands). Passed in rather than imported so the
   * Worker bundle does not carry a TCP client it cannot use.
   */
  redisTcp?: (target: RedisTcpTarget) => RedisCommands;
}

export function memoryStoreOptions(
  config: Pick<
    GatewayConfig,
    | 'groupTtlSeconds'
    | 'maxSeries'
    | 'maxLabelValueBytes'
    | 'maxLabelsPerSeries'
    | 'maxIdempotencyBytes'
    | 'maxOtlpStreamBytes'
    | 'enableUtf8Names'
    | 'maxStoredBytes'
  >,
): MemoryStoreOptions {
  return {
    groupTtlMs: config.groupTtlSeconds * 1000,
    maxSeries: config.maxSeries,
    maxStoredBytes: config.maxStoredBytes,
    maxIdempotencyKeys: idempotencyKeysFor(config.maxIdempotencyBytes),
    maxOtlpStreams: streamsFor(config.maxOtlpStreamBytes),
    seriesLimits: {
      maxLabelValueBytes: config.maxLabelValueBytes,
      maxLabelsPerSeries: config.maxLabelsPerSeries,
      names: config.enableUtf8Names ? 'utf8' : 'legacy',
    },
  };
}

/** The memory store's settings, with the byte bounds turned into counts by what an entry costs in Redis. */
export function redisStoreOptions(
  config: Parameters<typeof memoryStoreOptions>[0] & Pick<GatewayConfig, 'maxOperationIdBytes'>,
): Omit<RedisStoreOptions, 'commands'> {
  return {
    ...memoryStoreOptions(config),
    maxIdempotencyKeys: redisIdempotencyKeysFor(config.maxIdempotencyBytes),
    maxOperationIds: redisOperationIdsFor(config.maxOperationIdBytes),
    maxOtlpStreams: redisStreamsFor(config.maxOtlpStreamBytes),
  };
}

export function createStore(config: GatewayConfig, bindings: StoreBindings = {}): GatewayStore {
  if (config.store === 'redis') {
    // RESP/TCP when a Redis address is set (Node replicas); else Upstash REST (serverless, workerd).
    // loadGatewayConfig sets one of them whenever store is redis; a config built by hand may not.
    if (config.redisTcp && !bindings.redisTcp)
      throw new ConfigError([
        'GATEWAY_REDIS_URL and GATEWAY_REDIS_CLUSTER_NODES work on Node only; on Workers use the Upstash REST variables',
      ]);
    const commands = config.redisTcp ? bindings.redisTcp?.(config.redisTcp) : config.upstash ? upstashCommands(config.upstash) : undefined;
    if (!commands)
      throw new ConfigError([
        'GATEWAY_REDIS_URL, GATEWAY_REDIS_CLUSTER_NODES, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set when GATEWAY_STORE=redis',
      ]);
    return new RedisStore({ commands, keyPrefix: config.redisKeyPrefix, ...redisStoreOptions(config) });
  }
  if (bindings.gatewayState) return new DurableObjectStore(bindings.gatewayState, config.durableObjectShards);
  return new MemoryStore(memoryStoreOptions(config));
}
