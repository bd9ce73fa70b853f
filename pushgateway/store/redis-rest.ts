// The Redis store's transport over the Upstash REST protocol (`@upstash/redis`, plain fetch): the one that
// runs on Workers, and against Upstash or any Redis behind an Upstash-compatible endpoint.
import type { Redis } from '@upstash/redis';
import type { RedisCommands } from './redis-commands.js';

export interface UpstashOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
}

export function upstashCommands({ url, token }: UpstashOptions): RedisCommands {
  // Strings come back as stored (no JSON guessing); network errors are retried by the library, which is
  // safe because every store script that writes carries an operation id (redis-scripts.ts).
  // The client is imported on the first command: the module that chooses a store imports this one in every
  // gateway, and a gateway on its memory store should not hold the client in memory.
  let client: Promise<Redis> | undefined;
  const redis = () =>
    (client ??= import('@upstash/redis').then(
      ({ Redis }) => new Redis({ url, token, automaticDeserialization: false, retry: { retries: 3, backoff: (n) => 50 * 2 ** n } }),
    ));
  // createScript keeps the SHA-1 and falls back from EVALSHA to EVAL on NOSCRIPT.
  const scripts = new Map<string, ReturnType<Redis['createScript']>>();
  return {
    description: `redis (Upstash REST, ${new URL(url).host})`,
    async evalScript(script, keys, args) {
      let compiled = scripts.get(script);
      if (!compiled) {
        compiled = (await redis()).createScript(script);
        scripts.set(script, compiled);
      }
      return await compiled.exec(keys, args);
    },
    async close() {},
  };
}
