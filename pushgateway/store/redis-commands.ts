// What the Redis store needs from a Redis connection: running its Lua scripts. Everything else — key
// layout, scripts, validation — is the one Redis store core (redis.ts, redis-scripts.ts); a transport only
// carries EVALSHA/EVAL, so the Upstash REST client (serverless, workerd) and a RESP/TCP connection (Node
// replicas, Redis Cluster) run exactly the same store.

export interface RedisCommands {
  /**
   * Runs `script` atomically in Redis (EVALSHA, loading the script when the server lacks it). `keys` are the
   * script's declared keys: in a cluster they decide the node, so every key a script touches must share
   * their hash slot (the store's keys share one hash tag).
   */
  evalScript(script: string, keys: string[], args: string[]): Promise<unknown>;
  /** Where the store lives, for the status page and logs; never carries credentials. */
  readonly description: string;
  close(): Promise<void>;
}

/** The default prefix of the store's keys; `{pushgateway}` is its hash tag. */
export const DEFAULT_REDIS_KEY_PREFIX = '{pushgateway}:';

/** Redis Cluster hashes only the text between the first `{` and the next `}`, when that is not empty. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  return open >= 0 && prefix.indexOf('}', open + 1) > open + 1;
}
