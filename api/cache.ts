// Read-through cache of `GET /api/users/:id` in Redis. Redis only speeds things up: when it fails,
// reads go to the database (reported as a BYPASS) and the failure is logged, never surfaced.
// Writes delete the key after the database commit. A read that raced a write can put the old row
// back; CACHE_TTL_SECONDS bounds how long such a stale entry can live.
import type { Redis } from '@upstash/redis';
import type { Logger } from 'pino';
import type { UserJson } from './repository.js';

export type CacheOutcome = 'HIT' | 'MISS' | 'BYPASS';

export interface UserCache {
  /** `value` is set on a HIT only. */
  get(id: string): Promise<{ outcome: CacheOutcome; value?: UserJson }>;
  set(id: string, value: UserJson): Promise<void>;
  invalidate(id: string): Promise<void>;
}

const key = (id: string) => `cache:user:${id}`;

export function createUserCache({ redis, ttlSeconds, logger }: { redis: Redis; ttlSeconds: number; logger: Logger }): UserCache {
  return {
    async get(id) {
      try {
        const value = await redis.get<UserJson>(key(id));
        return value ? { outcome: 'HIT', value } : { outcome: 'MISS' };
      } catch (error) {
        logger.warn({ err: error, cacheKey: key(id) }, 'cache read failed; reading from the database');
        return { outcome: 'BYPASS' };
      }
    },
    async set(id, value) {
      try {
        await redis.set(key(id), value, { ex: ttlSeconds });
      } catch (error) {
        logger.warn({ err: error, cacheKey: key(id) }, 'cache write failed');
      }
    },
    async invalidate(id) {
      try {
        await redis.del(key(id));
      } catch (error) {
        // The database write stands; the entry may be served stale until its TTL runs out.
        logger.error({ err: error, cacheKey: key(id), staleForAtMostSeconds: ttlSeconds }, 'cache invalidation failed');
      }
    },
  };
}
