// Remote write out: on every interval, the replica holding the lease takes the current value of every stored
// series from the store and queues it for each receiver. Two ways to run it:
//   - startRemoteWrite (Node): its own timer, aligned to multiples of the interval; stop() sends a last
//     snapshot and flushes with a deadline;
//   - createRemoteWriter(...).sendOnce() (a Durable Object alarm): one snapshot, delivered before it returns.
import type { ExpositionFormat } from '../core/exposition-format.js';
import { renderHeader } from '../core/exposition-format.js';
import { formatGoFloat } from '../core/float.js';
import type { GatewayStore } from '../store/types.js';
import type { RemoteWriteConfig } from './config.js';
import { type Batch, Destination, type Snapshot } from './destination.js';
import type { RemoteWriteLease } from './lease.js';
import { renderRemoteWriteMetrics } from './metrics.js';
import { encodeSnapshot } from './series.js';

export type { RemoteWriteConfig } from './config.js';
export { MemoryLease, RedisLease, type RemoteWriteLease } from './lease.js';

export interface RemoteWriteLog {
  info?(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface RemoteWriteOptions {
  config: RemoteWriteConfig;
  /** Where the snapshot's groups come from: a store, or (sharded Durable Objects) the merge of every shard. */
  store: Pick<GatewayStore, 'groups'>;
  lease: RemoteWriteLease;
  logger: RemoteWriteLog;
  /** Identifies this replica in the lease; a random id by default. */
  holderId?: string;
  clock?: () => number;
  fetch?: typeof fetch;
  userAgent?: string;
  /** Retry timing (Prometheus' min_backoff 30 ms, max_backoff 5 s); tests shorten it. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A Retry-After longer than this is cut to it, so one answer cannot stall a receiver's queue for hours. */
  maxRetryAfterMs?: number;
  requestTimeoutMs?: number;
}

export type TickOutcome = 'queued' | 'not-holder' | 'failed';

export interface RemoteWriter {
  /** Takes the lease, reads a snapshot and queues it for every receiver; does not wait for delivery. */
  tick(): Promise<TickOutcome>;
  /** tick(), then waits until every receiver's queue is delivered or `deadlineMs` (Unix ms) passes. */
  sendOnce(deadlineMs?: number): Promise<TickOutcome>;
  flush(deadlineMs: number): Promise<void>;
  /** Self-metrics for /metrics (pass to createGatewayApp's extraMetrics). */
  metricsText(format?: ExpositionFormat): string;
}

/** user:password as UTF-8 in base64 (RFC 7617); btoa alone accepts Latin-1 only. */
function basicCredentials(username: string, password: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(`${username}:${password}`)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function createRemoteWriter(options: RemoteWriteOptions): RemoteWriter {
  const { config, store, lease, logger } = options;
  const clock = options.clock ?? Date.now;
  const holderId = options.holderId ?? crypto.randomUUID();
  const intervalMs = config.intervalSeconds * 1000;
  // 1.5 intervals: the holder renews at every aligned tick, so a live holder never lets it lapse (half an
  // interval of slack for a late timer or clock skew), and after a crash the next-but-one tick of another
  // replica finds it free: at most one interval is missed. See README.md.
  const ttlMs = intervalMs * 1.5;
  const authorization: Record<string, string> =
    config.auth === undefined
      ? {}
      : {
          authorization:
            config.auth.kind === 'bearer'
              ? `Bearer ${config.auth.token}`
              : `Basic ${basicCredentials(config.auth.username, config.auth.password)}`,
        };
  const destinations = config.urls.map(
    (url) =>
      new Destination({
        url,
        headers: { ...config.headers, ...authorization },
        maxQueueBytes: config.maxQueueBytes,
        shards: config.shards,
        minBackoffMs: options.minBackoffMs ?? 30,
        maxBackoffMs: options.maxBackoffMs ?? 5_000,
        maxRetryAfterMs: options.maxRetryAfterMs ?? 5 * 60_000,
        timeoutMs: options.requestTimeoutMs ?? 30_000,
        userAgent: options.userAgent ?? 'hono-edge-metrics-gateway/0.1.0',
        fetch: options.fetch ?? ((input, init) => fetch(input, init)),
        log: logger,
      }),
  );
  let highestTimestampSeconds = 0;
  let snapshotErrors = 0;
  let holding = false;

  const snapshot = async (): Promise<Snapshot> => {
    const nowMs = clock();
    const batches: Batch[] = [];
    let samples = 0;
    encodeSnapshot(await store.groups(nowMs), nowMs, config.maxSamplesPerSend, (body, count) => {
      batches.push({ body, samples: count });
      samples += count;
    });
    highestTimestampSeconds = nowMs / 1000;
    return { timestampMs: nowMs, batches, bytes: batches.reduce((sum, batch) => sum + batch.body.byteLength, 0), samples };
  };

  const tick = async (): Promise<TickOutcome> => {
    try {
      holding = await lease.tryAcquire(holderId, ttlMs);
      if (!holding) return 'not-holder';
      const taken = await snapshot();
      for (const destination of destinations) destination.enqueue(taken);
      return 'queued';
    } catch (error) {
      // Without the lease or the store this replica cannot know what to send: it sends nothing this interval
      // rather than risk a duplicate, and says so.
      snapshotErrors++;
      logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'remote write: no snapshot this interval (lease or store unavailable)',
      );
      return 'failed';
    }
  };

  const flush = async (deadlineMs: number) => {
    await Promise.all(destinations.map((destination) => destination.flush(deadlineMs)));
  };

  return {
    tick,
    flush,
    async sendOnce(deadlineMs = Date.now() + intervalMs) {
      const outcome = await tick();
      await flush(deadlineMs);
      return outcome;
    },
    metricsText(format = 'text') {
      return (
        renderRemoteWriteMetrics(destinations, highestTimestampSeconds, format) +
        renderHeader(
          {
            name: 'gateway_remote_write_snapshot_errors_total',
            help: 'Intervals without a remote-write snapshot because the lease or the store was unavailable.',
            type: 'counter',
          },
          format,
        ) +
        `gateway_remote_write_snapshot_errors_total ${formatGoFloat(snapshotErrors)}\n` +
        renderHeader(
          {
            name: 'gateway_remote_write_lease_held',
            help: 'Whether this replica held the remote-write lease at its last tick.',
            type: 'gauge',
          },
          format,
        ) +
        `gateway_remote_write_lease_held ${holding ? 1 : 0}\n`
      );
    },
  };
}

export interface RunningRemoteWrite {
  metricsText(format?: ExpositionFormat): string;
  /** One snapshot now, delivered before it resolves (or the interval passes). */
  sendOnce(): Promise<TickOutcome>;
  /** Stops the timer, sends a last snapshot and waits for delivery until `flushTimeoutMs` (default 5 s). */
  stop(flushTimeoutMs?: number): Promise<void>;
}

/** Node: ticks at every multiple of the interval (aligned across replicas, which the lease timing relies on). */
export function startRemoteWrite(options: RemoteWriteOptions): RunningRemoteWrite {
  const writer = createRemoteWriter(options);
  const clock = options.clock ?? Date.now;
  const intervalMs = options.config.intervalSeconds * 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    const now = clock();
    timer = setTimeout(
      () => {
        running = writer.tick().finally(() => {
          if (!stopped) schedule();
        });
      },
      intervalMs - (now % intervalMs),
    );
  };
  schedule();
  return {
    metricsText: (format) => writer.metricsText(format),
    sendOnce: () => writer.sendOnce(),
    async stop(flushTimeoutMs = 5_000) {
      stopped = true;
      clearTimeout(timer);
      await running;
      const deadline = Date.now() + flushTimeoutMs;
      await writer.tick();
      await writer.flush(deadline);
    },
  };
}
