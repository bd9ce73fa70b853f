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
import { RedisStore } from './redis.js';
import type { GatewayStore } from './types.js';

export interface StoreBindings {
  /** Workers: the Durable Object namespace that holds the memory store. */
  gatewayState?: DurableObjectNamespace<GatewayStoreObject>;
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

export function createStore(config: GatewayConfig, bindings: StoreBindings = {}): GatewayStore {
  if (config.store === 'redis') {
    // loadGatewayConfig sets upstash whenever store is redis; a config built by hand may not.
    if (!config.upstash)
      throw new ConfigError(['UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set when GATEWAY_STORE=redis']);
    return new RedisStore({ ...config.upstash, ...memoryStoreOptions(config) });
  }
  if (bindings.gatewayState) return new DurableObjectStore(bindings.gatewayState);
  return new MemoryStore(memoryStoreOptions(config));
}
