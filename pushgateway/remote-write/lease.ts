// Which replica sends: with several gateway replicas on one shared store, exactly one of them remote-writes
// each interval. A replica sends only after `tryAcquire` succeeds at that tick; the holder renews the lease
// at every tick, so it keeps it while alive, and a replica that dies loses it when the TTL runs out.
// See README.md in this folder for the timing argument (no duplicates, a gap of at most one interval).
import type { RedisCommands } from '../store/redis-commands.js';

export interface RemoteWriteLease {
  /** True when `holderId` holds the lease for the next `ttlMs` (acquired, or renewed because it already held it). */
  tryAcquire(holderId: string, ttlMs: number): Promise<boolean>;
}

/** One process owns its store alone (memory store, a Durable Object): it is always the holder. */
export class MemoryLease implements RemoteWriteLease {
  async tryAcquire(): Promise<boolean> {
    return true;
  }
}

// SET NX PX takes a free (or expired) lease; the holder extends its own. One script, so "is it mine?" and
// "extend it" cannot interleave with another replica taking it over.
const acquireScript = /* lua */ `
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** The lease as one Redis key, over the Redis store's own connection (REST or TCP, one Redis or a cluster). */
export class RedisLease implements RemoteWriteLease {
  constructor(
    private readonly redis: RedisCommands,
    private readonly key = 'gateway:remote-write:lease',
  ) {}

  async tryAcquire(holderId: string, ttlMs: number): Promise<boolean> {
    return Number(await this.redis.evalScript(acquireScript, [this.key], [holderId, String(Math.ceil(ttlMs))])) === 1;
  }
}
