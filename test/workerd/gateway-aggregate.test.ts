// The Workers build of the gateway (pushgateway/wrangler.toml, bundled exactly as `wrangler deploy` does)
// in real workerd: the same aggregation contract as on Node, with the state in the Durable Object; and that
// state — totals and remembered Idempotency-Keys — surviving a restart of workerd (Durable Object storage);
// and the same contract with GATEWAY_STORE=redis (real Redis 7 behind the Upstash REST bridge).
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_KEY_PREFIX } from '../../pushgateway/store/redis-commands.js';
import { upstashCommands } from '../../pushgateway/store/redis-rest.js';
import { ReplicaHeartbeats } from '../../pushgateway/store/replica-heartbeats.js';
import { describeFuzzContract } from '../support/fuzz-contract.js';
import { CONTRACT_MAX_BODY_BYTES, describeAggregationContract } from '../support/gateway-contract.js';
import { makeTempDir, type RunningService, removeDir } from '../support/services/process.js';
import { type RunningRedisBridge, startRedis, startRedisBridge } from '../support/services/redis.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';

const CONFIG = resolve(import.meta.dirname, '../../pushgateway/wrangler.toml');
const TOKEN = 'workers-push-token';
const bindings = { GATEWAY_PUSH_TOKEN: TOKEN, GATEWAY_MAX_BODY_BYTES: String(CONTRACT_MAX_BODY_BYTES) };

let dir: string;
let scriptPath: string;
let worker: RunningWorker;

beforeAll(async () => {
  dir = makeTempDir('gw-workerd');
  scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
  worker = await startWorker({ config: CONFIG, scriptPath, bindings });
}, 180_000);
afterAll(async () => {
  await worker?.stop();
  if (dir) removeDir(dir);
});

describeAggregationContract('Workers + Durable Object (workerd)', () => ({
  token: TOKEN,
  fetch: (path, init) => worker.dispatchFetch(`http://gateway.test${path}`, init),
}));

describeFuzzContract(
  'Workers + Durable Object (workerd)',
  () => ({ token: TOKEN, fetch: (path, init) => worker.dispatchFetch(`http://gateway.test${path}`, init) }),
  2000,
  300_000,
);

describe('Workers gateway state', () => {
  it("keeps totals, remembered keys, and each group's write mode and retries across a workerd restart (Durable Object storage)", async () => {
    const persistDir = join(dir, 'do-state');
    const options = { config: CONFIG, scriptPath, bindings, miniflareOptions: { durableObjectsPersist: persistDir } };
    const push = (target: RunningWorker, key: string, value: number) =>
      target.dispatchFetch('http://gateway.test/aggregate/metrics/job/durable', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': key },
        body: `# TYPE kept_total counter\nkept_total ${value}\n`,
      });
    const total = async (target: RunningWorker) =>
      /^kept_total\{[^}]*\} (\S+)$/m.exec(await (await target.dispatchFetch('http://gateway.test/metrics')).text())?.[1];
    /** What only this gateway knows about each group (http/read.ts GATEWAY_GROUP_FIELD), by job. */
    const facts = async (target: RunningWorker) => {
      const body = (await (await target.dispatchFetch('http://gateway.test/api/v1/metrics')).json()) as {
        data: Array<{ labels: { job: string }; '@gateway': { write_mode: string; deduplicated_retries: number } }>;
      };
      return Object.fromEntries(body.data.map((group) => [group.labels.job, group['@gateway']]));
    };
    const put = (target: RunningWorker) =>
      target.dispatchFetch('http://gateway.test/metrics/job/durable-put', {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '# TYPE put_gauge gauge\nput_gauge 1\n',
      });

    const first = await startWorker(options);
    try {
      expect((await push(first, 'a', 5)).status).toBe(200);
      expect((await push(first, 'b', 2)).status).toBe(200);
      expect((await push(first, 'b', 2)).headers.get('idempotent-replayed')).toBe('true');
      expect((await put(first)).status).toBe(200);
      expect(await total(first)).toBe('7');
    } finally {
      await first.stop();
    }
    const second = await startWorker(options);
    try {
      expect(await total(second)).toBe('7');
      expect(await facts(second)).toMatchObject({
        durable: { write_mode: 'aggregated', deduplicated_retries: 1 },
        'durable-put': { write_mode: 'replaced', deduplicated_retries: 0 },
      });
      const replay = await push(second, 'b', 2);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect((await push(second, 'c', 1)).status).toBe(200);
      expect(await total(second)).toBe('8');
      expect((await facts(second)).durable?.deduplicated_retries).toBe(2);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it('answers 500 naming the variable when the configuration is bad', async () => {
    const bad = await startWorker({ config: CONFIG, scriptPath, bindings: { ...bindings, GATEWAY_MAX_SERIES: 'lots' } });
    try {
      const response = await bad.dispatchFetch('http://gateway.test/metrics');
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain('GATEWAY_MAX_SERIES');
    } finally {
      await bad.stop();
    }
  }, 60_000);
});

describe('Workers gateway on the Redis store', () => {
  let redis: RunningService;
  let bridge: RunningRedisBridge;
  let redisWorker: RunningWorker;
  beforeAll(async () => {
    redis = await startRedis();
    bridge = await startRedisBridge(redis.url);
    redisWorker = await startWorker({
      config: CONFIG,
      scriptPath,
      bindings: { ...bindings, GATEWAY_STORE: 'redis', UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token },
    });
  }, 180_000);
  afterAll(async () => {
    await redisWorker?.stop();
    await bridge?.stop();
    await redis?.stop();
  });

  describeAggregationContract('Workers + Redis (workerd)', () => ({
    token: TOKEN,
    fetch: (path, init) => redisWorker.dispatchFetch(`http://gateway.test${path}`, init),
  }));

  it('lists on its status page the Node replicas whose heartbeats are in the shared Redis', async () => {
    const status = async () => await (await redisWorker.dispatchFetch('http://gateway.test/status')).text();
    expect(await status()).toContain('no live replica heartbeat');
    const commands = upstashCommands(bridge);
    const heartbeats = new ReplicaHeartbeats(commands, DEFAULT_REDIS_KEY_PREFIX);
    try {
      await heartbeats.beat({ id: 'node-replica-1', startedAtMs: Date.now(), version: '0.1.0' }, Date.now());
      expect(await status()).toContain('<tr data-replica="node-replica-1">');
    } finally {
      await heartbeats.leave('node-replica-1');
      await commands.close();
    }
  });
});
