// Exactly-once aggregation across stateless replicas sharing real Redis 7: concurrent clients push deltas
// into one group through 2 or 3 gateway processes, over every Redis transport — Upstash REST (the bridge
// as a separate process), RESP/TCP to one Redis, and a 3-node Redis Cluster. Retries are injected at
// random: a push abandoned mid-flight (outcome unknown) and re-sent with the same Idempotency-Key to another
// replica, and a push re-sent after its 200 (a lost response). On TCP and the cluster, replicas are also
// SIGKILLed under load and restarted. Every replica must then show exactly the sums that were sent. And
// concurrent pushes creating new groups with the same families must all succeed at once (no conflicts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistogramMetric, ScalarMetric } from '../../pushgateway/core/model.js';
import { type GatewayProcess, scrape, startGatewayProcess } from '../support/gateway-processes.js';
import type { RunningService } from '../support/services/process.js';
import { freePort, httpOk, makeTempDir, removeDir, type SpawnedProcess, spawnLogged, waitUntil } from '../support/services/process.js';
import { startRedis } from '../support/services/redis.js';
import { type RunningRedisCluster, startRedisCluster } from '../support/services/redis-cluster.js';

const TOKEN = 'push-token-for-test';
const BRIDGE_TOKEN = 'bridge-token-for-test';

let dir: string;
let redis: RunningService;
let cluster: RunningRedisCluster;
let bridge: SpawnedProcess;
let bridgeUrl: string;
const running: GatewayProcess[] = [];

beforeAll(async () => {
  dir = makeTempDir('gw-replicas');
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
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
  bridgeUrl = `http://127.0.0.1:${bridgePort}`;
  await waitUntil(() => httpOk(`${bridgeUrl}/`), { what: 'redis bridge', timeoutMs: 120_000 }).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${bridge.logTail()}`);
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(running.map((replica) => replica.stop()));
  await bridge?.stop();
  await Promise.all([redis?.stop(), cluster?.stop()]);
  if (dir) removeDir(dir);
});

type Transport = 'Upstash REST' | 'TCP' | 'Redis Cluster';

function storeEnv(transport: Transport, keyPrefix: string): Record<string, string> {
  const common = { GATEWAY_STORE: 'redis', GATEWAY_PUSH_TOKEN: TOKEN, LOG_LEVEL: 'warn', GATEWAY_REDIS_KEY_PREFIX: keyPrefix };
  if (transport === 'Upstash REST') return { ...common, UPSTASH_REDIS_REST_URL: bridgeUrl, UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN };
  if (transport === 'TCP') return { ...common, GATEWAY_REDIS_URL: redis.url };
  return { ...common, GATEWAY_REDIS_CLUSTER_NODES: cluster.urls.join(',') };
}

/** `count` gateway processes on one store; each can be SIGKILLed and restarted on its port. */
async function startReplicas(transport: Transport, count: number, keyPrefix: string) {
  const env = storeEnv(transport, keyPrefix);
  const name = (i: number) => `gateway-${transport.replace(/\W/g, '')}-${count}-${i}`;
  const replicas = await Promise.all(Array.from({ length: count }, (_, i) => startGatewayProcess(name(i), dir, env)));
  running.push(...replicas);
  return {
    replicas,
    async killAndRestart(i: number) {
      const old = replicas[i]!;
      await old.stop('SIGKILL');
      replicas[i] = await startGatewayProcess(name(i), dir, env, old.port);
      running.push(replicas[i]);
    },
    async stop() {
      await Promise.all(replicas.map((replica) => replica.stop()));
    },
  };
}

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

interface Load {
  clients: number;
  pushesPerClient: number;
  /** SIGKILL (and restart) a replica when this share of the pushes is done, one replica after the other. */
  killsAt: number[];
}

async function keyedLoad(transport: Transport, replicaCount: number, load: Load): Promise<void> {
  const group = await startReplicas(transport, replicaCount, `{replicas-${transport.replace(/\W/g, '')}-${replicaCount}}:`);
  const replicas = group.replicas;
  const { clients: CLIENTS, pushesPerClient: PUSHES_PER_CLIENT } = load;
  try {
    const expected = { perClient: new Array<number>(CLIENTS).fill(0), total: 0, sum: 0, buckets: [0, 0, 0] };
    const stats = { requests: 0, abandoned: 0, replayedAfterSuccess: 0, replayedAnswers: 0, transportErrors: 0, done: 0, kills: 0 };

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
          const response = await send(replicas[(first + attempt) % replicas.length]!, text, key);
          if (response.status < 500) return response;
          outcome = `${response.status} ${await response.text()}`;
        } catch (error) {
          // e.g. a keep-alive connection the server closed as it was reused: the outcome is unknown
          outcome = String((error as Error).cause ?? error);
          stats.transportErrors++;
        }
        if (attempt > 40) throw new Error(`no definitive answer after ${attempt} attempts: ${outcome}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(20 * (attempt + 1), 300)));
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
        const home = (id + i) % replicas.length;
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
        stats.done++;
        expected.perClient[id]! += delta;
        expected.total += delta;
        expected.sum += sum;
        buckets.forEach((count, b) => {
          expected.buckets[b]! += count;
        });
      }
    };

    const pushes = CLIENTS * PUSHES_PER_CLIENT;
    let loading = true;
    const killer = async () => {
      for (const [k, share] of load.killsAt.entries()) {
        while (loading && stats.done < share * pushes) await new Promise((resolve) => setTimeout(resolve, 20));
        if (!loading) return;
        await group.killAndRestart(k % replicas.length);
        stats.kills++;
      }
    };
    const started = performance.now();
    const killing = killer();
    await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    const seconds = (performance.now() - started) / 1000;
    loading = false;
    await killing;
    expect(stats.kills).toBe(load.killsAt.length);

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

    console.log(
      `[gateway-redis-replicas] ${transport}, ${replicas.length} replicas, ${stats.kills} SIGKILLed under load: ${pushes} pushes (${stats.requests} requests: ${stats.abandoned} abandoned mid-flight and re-sent, ` +
        `${stats.replayedAfterSuccess} re-sent after success, ${stats.transportErrors} transport errors retried; ${stats.replayedAnswers} answered as replays) from ${CLIENTS} clients ` +
        `in ${seconds.toFixed(2)} s = ${(pushes / seconds).toFixed(0)} pushes/s, ${(stats.requests / seconds).toFixed(0)} requests/s; totals exact`,
    );
  } finally {
    await group.stop();
  }
}

describe('gateway replicas sharing Redis: exact totals under injected retries and SIGKILL', () => {
  it('2 replicas over Upstash REST, 50 clients x 200 deltas', async () => {
    await keyedLoad('Upstash REST', 2, { clients: 50, pushesPerClient: 200, killsAt: [] });
  }, 600_000);
  for (const transport of ['TCP', 'Redis Cluster'] as const) {
    for (const count of [2, 3]) {
      it(`${count} replicas over ${transport}, 32 clients x 100 deltas, a replica SIGKILLed twice`, async () => {
        await keyedLoad(transport, count, { clients: 32, pushesPerClient: 100, killsAt: [0.2, 0.55] });
      }, 600_000);
    }
  }
});

describe('new groups at concurrency 16 over 2 replicas', () => {
  for (const transport of ['TCP', 'Redis Cluster'] as const) {
    it(`1500 PUTs of the same families into new groups over ${transport}: every one succeeds at once`, async () => {
      const group = await startReplicas(transport, 2, `{new-groups-${transport.replace(/\W/g, '')}}:`);
      try {
        const statuses = new Map<number, number>();
        let next = 0;
        const body = '# TYPE jobs_total counter\njobs_total{kind="a"} 1\n# TYPE queue_depth gauge\nqueue_depth 3\n';
        const worker = async () => {
          for (let i = next++; i < 1500; i = next++) {
            const response = await fetch(`${group.replicas[i % 2]!.url}/metrics/job/batch/instance/i${i}`, {
              method: 'PUT',
              headers: { authorization: `Bearer ${TOKEN}` },
              body,
            });
            await response.arrayBuffer();
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
        expect(Object.fromEntries(statuses)).toEqual({ 200: 1500 });
        const families = await scrape(group.replicas[0]!.url);
        expect(families.get('jobs_total')!.metrics).toHaveLength(1500);
      } finally {
        await group.stop();
      }
    }, 300_000);
  }
});
