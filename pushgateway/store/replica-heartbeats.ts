// Which gateway replicas share one Redis store, for the status page. Each Node replica writes a heartbeat (its id,
// start time, version and when it was last seen) into a key that Redis itself expires, so a replica that dies — even
// by SIGKILL — drops off the list within HEARTBEAT_TTL_MS without anyone cleaning up, whatever the replicas' clocks
// say. The keys start with the store's prefix (its hash tag: the same cluster slot) and go over its connection.
import type { RedisCommands } from './redis-commands.js';

export interface ReplicaIdentity {
  id: string;
  startedAtMs: number;
  version: string;
}

export interface ReplicaHeartbeat extends ReplicaIdentity {
  lastSeenMs: number;
}

export const HEARTBEAT_INTERVAL_MS = 10_000;
/** Three missed beats and a replica is gone from the list. */
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_INTERVAL_MS;
/** A heartbeat is a few short fields; anything longer in Redis is not one of ours and is skipped. */
const MAX_HEARTBEAT_CHARS = 1_024;

// P..'replicas' is a set of ids (as a ZSET by first sight, so the list is stable); P..'replica:'..id the heartbeat.
const beatScript = /* lua */ `
local P, id, ttl = ARGV[1], ARGV[2], ARGV[4]
redis.call('SET', P .. 'replica:' .. id, ARGV[3], 'PX', ttl)
redis.call('ZADD', P .. 'replicas', 'NX', ARGV[5], id)
-- The set lives as long as its longest-lived beat: never shortened by another replica's beat.
if redis.call('PTTL', P .. 'replicas') < tonumber(ttl) then redis.call('PEXPIRE', P .. 'replicas', ttl) end
return 1
`;

// The ids whose heartbeat expired are removed as they are found, so the set stays as small as the live replicas.
const listScript = /* lua */ `
local P = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'replicas', 0, -1)) do
  local beat = redis.call('GET', P .. 'replica:' .. id)
  if beat then out[#out + 1] = beat else redis.call('ZREM', P .. 'replicas', id) end
end
return out
`;

const leaveScript = /* lua */ `
local P, id = ARGV[1], ARGV[2]
redis.call('DEL', P .. 'replica:' .. id)
redis.call('ZREM', P .. 'replicas', id)
return 1
`;

function decodeHeartbeat(text: unknown): ReplicaHeartbeat | undefined {
  if (typeof text !== 'string' || text.length > MAX_HEARTBEAT_CHARS) return undefined;
  try {
    const beat = JSON.parse(text) as Partial<ReplicaHeartbeat>;
    const valid =
      typeof beat.id === 'string' &&
      typeof beat.version === 'string' &&
      typeof beat.startedAtMs === 'number' &&
      typeof beat.lastSeenMs === 'number';
    return valid ? (beat as ReplicaHeartbeat) : undefined;
  } catch {
    return undefined;
  }
}

export class ReplicaHeartbeats {
  constructor(
    private readonly redis: RedisCommands,
    private readonly prefix: string,
    /** How long a beat keeps its replica listed. */
    private readonly ttlMs = HEARTBEAT_TTL_MS,
  ) {}

  private async run(script: string, args: string[]): Promise<unknown> {
    return await this.redis.evalScript(script, [`${this.prefix}replicas`], [this.prefix, ...args]);
  }

  async beat(replica: ReplicaIdentity, nowMs: number): Promise<void> {
    const beat: ReplicaHeartbeat = { ...replica, lastSeenMs: nowMs };
    await this.run(beatScript, [replica.id, JSON.stringify(beat), String(this.ttlMs), String(replica.startedAtMs)]);
  }

  /** The replicas whose heartbeat has not expired, in the order they first appeared. */
  async live(): Promise<ReplicaHeartbeat[]> {
    const texts = await this.run(listScript, []);
    return (Array.isArray(texts) ? texts : []).map(decodeHeartbeat).filter((beat) => beat !== undefined);
  }

  /** A replica that stops cleanly leaves the list at once. */
  async leave(id: string): Promise<void> {
    await this.run(leaveScript, [id]);
  }
}

export interface RunningHeartbeat {
  stop(): Promise<void>;
}

/**
 * Beats now and every HEARTBEAT_INTERVAL_MS. A beat that fails (Redis down) is reported and retried at the next
 * tick: the replica only looks absent on the status page meanwhile.
 */
export function startHeartbeat(
  heartbeats: ReplicaHeartbeats,
  replica: ReplicaIdentity,
  { clock = Date.now, onError }: { clock?: () => number; onError: (error: unknown) => void },
): RunningHeartbeat {
  let beating = Promise.resolve();
  const beatOnce = () => {
    beating = beating.then(() => heartbeats.beat(replica, clock()).catch(onError));
  };
  beatOnce();
  const timer = setInterval(beatOnce, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await beating;
      await heartbeats.leave(replica.id).catch(onError);
    },
  };
}
