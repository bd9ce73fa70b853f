// Exactly-once aggregation across stateless replicas: 50 concurrent clients each push 200 deltas into one
// group through 2 gateway processes (GATEWAY_STORE=redis) sharing one real Redis 7 (behind the Upstash REST
// bridge, as a separate process). Retries are injected at random: a push abandoned mid-flight (outcome
// unknown) and re-sent with the same Idempotency-Key to the other replica, and a push re-sent after its
// 200 (a lost response). Both replicas must then show exactly the sums that were sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistogramMetric, ScalarMetric } from '../../pushgateway/core/model.js';
import { freePort, httpOk, makeTempDir, removeDir, spawnLogged, waitUntil, type SpawnedProcess } from '../support/services/process.js';
import { startRedis } from '../support/services/redis.js';
import type { RunningService } from '../support/services/process.js';
import { scrape, startGatewayProcess, type GatewayProcess } from '../support/gateway-processes.js';

const CLIENTS = 50;
const PUSHES_PER_CLIENT = 200;
const TOKEN = 'push-token-for-test';
const BRIDGE_TOKEN = 'bridge-token-for-test';

let dir: string;
let redis: RunningService;
let bridge: SpawnedProcess;
const replicas: GatewayProcess[] = [];

beforeAll(async () => {
  dir = makeTempDir('gw-replicas');
  redis = await startRedis();
  const bridgePort = await freePort();
  bridge = spawnLogged('bridge', process.execPath, ['--import', 'tsx', 'test/support/redis-bridge/node.ts'], dir, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: redis.url,
      BRIDGE_TOKEN,
      BRIDGE_PORT: String(bridgePort),
      BRIDGE_HOST: '127.0.0.1',
    },
  });
  await waitUntil(() => httpOk(`http://127.0.0.1:${bridgePort}/`), { what: 'redis bridge', timeoutMs: 120_000 }).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${bridge.logTail()}`);
  });
  const env = {
    GATEWAY_STORE: 'redis',
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${bridgePort}`,
    UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN,
    GATEWAY_PUSH_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
  };
  replicas.push(...(await Promise.all([startGatewayProcess('gateway-a', dir, env), startGatewayProcess('gateway-b', dir, env)])));
}, 180_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
  await bridge?.stop();
  await redis?.stop();
  if (dir) removeDir(dir);
});

function body(client: number, delta: number, sum: number, buckets: [number, number, number]): string {
  return (
    '# TYPE work_done_total counter\n' +
    `work_done_total{client="c${client}"} ${delta}\n` +
    `work_done_total ${delta}\n` +
    '# TYPE work_seconds histogram\n' +
    `work_seconds_bucket{le="0.5"} ${buckets[0]}\n` +
    `work_seconds_bucket{le="2"} ${buckets[0] + buckets[1]}\n` +
    `work_seconds_bucket{le="+Inf"} ${buckets[0] + buckets[1] + buckets[2]}\n` +
    `work_seconds_sum ${sum}\n` +
    `work_seconds_count ${buckets[0] + buckets[1] + buckets[2]}\n`
  );
}

/** A tiny deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('2 gateway processes sharing Redis', () => {
  it(`sum exactly what ${CLIENTS} concurrent clients x ${PUSHES_PER_CLIENT} deltas sent, with injected retries`, async () => {
    const expected = { perClient: new Array<number>(CLIENTS).fill(0), total: 0, sum: 0, buckets: [0, 0, 0] };
    const stats = { requests: 0, abandoned: 0, replayedAfterSuccess: 0, replayedAnswers: 0, transportErrors: 0 };

    const send = async (replica: GatewayProcess, text: string, key: string, signal?: AbortSignal): Promise<Response> => {
      stats.requests++;
      return await fetch(`${replica.url}/aggregate/metrics/job/load/instance/shared`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain; version=0.0.4', 'idempotency-key': key },
        body: text,
        signal: signal ?? AbortSignal.timeout(30_000),
      });
    };
    /** Re-sends with the same key until the gateway answers definitively (as pushgateway/client does). */
    const untilDefinitive = async (first: number, text: string, key: string): Promise<Response> => {
      for (let attempt = 0; ; attempt++) {
        let outcome: string;
        try {
          const response = await send(replicas[(first + attempt) % 2]!, text, key);
          if (response.status < 500) return response;
          outcome = `${response.status} ${await response.text()}`;
        } catch (error) {
          // e.g. a keep-alive connection the server closed as it was reused: the outcome is unknown
          outcome = String((error as Error).cause ?? error);
          stats.transportErrors++;
        }
        if (attempt > 20) throw new Error(`no definitive answer after ${attempt} attempts: ${outcome}`);
        await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
      }
    };

    const client = async (id: number) => {
      const random = prng(id + 1);
      for (let i = 0; i < PUSHES_PER_CLIENT; i++) {
        const delta = 1 + Math.floor(random() * 10);
        const buckets: [number, number, number] = [Math.floor(random() * 3), Math.floor(random() * 3), Math.floor(random() * 3)];
        const sum = Math.floor(random() * 40) / 4; // quarters: exact in binary, so the float sum is exact too
        const text = body(id, delta, sum, buckets);
        const key = `c${id}-p${i}-${crypto.randomUUID()}`;
        const home = (id + i) % 2;
        const dice = random();
        if (dice < 0.1) {
          // Outcome unknown: abandon the request at a random moment (it may or may not have been applied).
          stats.abandoned++;
          const controller = new AbortController();
          const pending = send(replicas[home]!, text, key, controller.signal)
            .then((r) => r.arrayBuffer())
            .catch(() => undefined);
          setTimeout(() => controller.abort(), Math.floor(random() * 6));
          await pending;
          const response = await untilDefinitive(home + 1, text, key);
          expect(response.status).toBe(200);
          if (response.headers.get('idempotent-replayed') === 'true') stats.replayedAnswers++;
        } else {
          const response = await untilDefinitive(home, text, key);
          expect(response.status, await response.clone().text()).toBe(200);
          if (dice < 0.2) {
            // The response was "lost": the client retries an applied push, on the other replica.
            stats.replayedAfterSuccess++;
            const replay = await untilDefinitive(home + 1, text, key);
            expect(replay.status).toBe(200);
            expect(replay.headers.get('idempotent-replayed')).toBe('true');
            stats.replayedAnswers++;
          }
        }
        expected.perClient[id]! += delta;
        expected.total += delta;
        expected.sum += sum;
        buckets.forEach((count, b) => (expected.buckets[b]! += count));
      }
    };

    const started = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    const seconds = (performance.now() - started) / 1000;

    const cumulative = [
      expected.buckets[0]!,
      expected.buckets[0]! + expected.buckets[1]!,
      expected.buckets[0]! + expected.buckets[1]! + expected.buckets[2]!,
    ];
    for (const replica of replicas) {
      const families = await scrape(replica.url);
      const counter = families.get('work_done_total')!;
      const byClient = new Map(counter.metrics.map((m) => [m.labels.client ?? '', (m as ScalarMetric).value]));
      expect(byClient.get('')).toBe(expected.total);
      for (let id = 0; id < CLIENTS; id++) expect(byClient.get(`c${id}`)).toBe(expected.perClient[id]);
      const histogram = families.get('work_seconds')!.metrics[0] as HistogramMetric;
      expect(histogram.buckets.map((b) => b.cumulativeCount)).toEqual(cumulative);
      expect(histogram.count).toBe(cumulative[2]);
      expect(histogram.sum).toBe(expected.sum);
      const deduplicated = (families.get('gateway_pushes_deduplicated_total')!.metrics[0] as ScalarMetric).value;
      // A request abandoned mid-flight may still reach the gateway after its retry was applied: it is then
      // deduplicated too, though no client sees that answer.
      expect(deduplicated).toBeGreaterThanOrEqual(stats.replayedAnswers);
      expect(deduplicated).toBeLessThanOrEqual(stats.replayedAnswers + stats.abandoned + stats.transportErrors);
    }

    const pushes = CLIENTS * PUSHES_PER_CLIENT;
    console.log(
      `[gateway-redis-replicas] ${pushes} pushes (${stats.requests} requests: ${stats.abandoned} abandoned mid-flight and re-sent, ` +
        `${stats.replayedAfterSuccess} re-sent after success, ${stats.transportErrors} transport errors retried; ${stats.replayedAnswers} answered as replays) from ${CLIENTS} clients through 2 replicas ` +
        `in ${seconds.toFixed(2)} s = ${(pushes / seconds).toFixed(0)} pushes/s, ${(stats.requests / seconds).toFixed(0)} requests/s; totals exact`,
    );
  }, 600_000);
});
