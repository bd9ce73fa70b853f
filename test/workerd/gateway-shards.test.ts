// The Workers build with GATEWAY_DO_SHARDS=4 in real workerd: groups spread over four Durable Objects by
// grouping key, the aggregation contract unchanged, exact totals under concurrent keyed pushes with retries,
// and remote write from every shard's alarm (their self-metrics merged on the Worker's /metrics).
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupKey } from '../../pushgateway/core/grouping.js';
import { shardOf } from '../../pushgateway/store/durable-object-shards.js';
import { CONTRACT_MAX_BODY_BYTES, describeAggregationContract } from '../support/gateway-contract.js';
import { makeTempDir, type RunningService, removeDir } from '../support/services/process.js';
import { queryPrometheus } from '../support/services/prometheus.js';
import { startVictoriaMetrics } from '../support/services/victoria-metrics.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';

const CONFIG = resolve(import.meta.dirname, '../../pushgateway/wrangler.toml');
const TOKEN = 'sharded-push-token';
const SHARDS = 4;
let dir: string;
let victoria: RunningService;
let worker: RunningWorker;

beforeAll(async () => {
  dir = makeTempDir('gw-workerd-shards');
  victoria = await startVictoriaMetrics();
  const scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
  worker = await startWorker({
    config: CONFIG,
    scriptPath,
    bindings: {
      GATEWAY_PUSH_TOKEN: TOKEN,
      GATEWAY_MAX_BODY_BYTES: String(CONTRACT_MAX_BODY_BYTES),
      GATEWAY_DO_SHARDS: String(SHARDS),
      GATEWAY_REMOTE_WRITE_URL: `${victoria.url}/api/v1/write`,
      GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '1',
    },
  });
}, 180_000);
afterAll(async () => {
  await worker?.stop();
  await victoria?.stop();
  if (dir) removeDir(dir);
});

const request = (path: string, init?: RequestInit) => worker.dispatchFetch(`http://gateway.test${path}`, init);

describeAggregationContract(`Workers + ${SHARDS} Durable Object shards (workerd)`, () => ({ token: TOKEN, fetch: request }));

describe(`${SHARDS} shards`, () => {
  it('sum exactly what concurrent keyed pushes sent into groups on every shard, retries included', async () => {
    const GROUPS = 24;
    const PUSHES = 20;
    const instances = Array.from({ length: GROUPS }, (_, i) => `w${i}`);
    const shardsUsed = new Set(instances.map((instance) => shardOf(groupKey({ job: 'sharded', instance }), SHARDS)));
    expect(shardsUsed.size).toBe(SHARDS);
    const expected = new Map<string, number>();
    const push = (instance: string, key: string, delta: number) =>
      request(`/aggregate/metrics/job/sharded/instance/${instance}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': key },
        body: `# TYPE sharded_work_total counter\nsharded_work_total ${delta}\n`,
      });
    await Promise.all(
      instances.map(async (instance, g) => {
        for (let p = 0; p < PUSHES; p++) {
          const delta = ((g * 7 + p * 3) % 10) + 1;
          const key = `${instance}-${p}`;
          const [first, retry] = await Promise.all([push(instance, key, delta), push(instance, key, delta)]);
          expect([first.status, retry.status]).toEqual([200, 200]);
          expect([first, retry].filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(1);
          expected.set(instance, (expected.get(instance) ?? 0) + delta);
        }
      }),
    );
    const text = await (await request('/metrics')).text();
    for (const [instance, total] of expected) {
      expect(new RegExp(`^sharded_work_total\\{instance="${instance}",job="sharded"\\} (\\S+)$`, 'm').exec(text)?.[1]).toBe(String(total));
    }
    // One family block on /metrics, though four objects hold it.
    expect(text.match(/^# TYPE sharded_work_total counter$/gm)).toHaveLength(1);
    expect(/^gateway_groups (\d+)$/m.exec(text)?.[1]).toBeDefined();
    const sum = [...expected.values()].reduce((a, b) => a + b, 0);
    // Every shard remote-writes its own groups; the receiver sees the union.
    await expect
      .poll(async () => (await queryPrometheus(victoria.url, 'sum(sharded_work_total{job="sharded"})')).map((r) => r.value[1]), {
        timeout: 30_000,
        interval: 500,
      })
      .toEqual([String(sum)]);
    await expect
      .poll(
        async () => {
          const metrics = await (await request('/metrics')).text();
          return new Set([...metrics.matchAll(/^prometheus_remote_storage_samples_total\{shard="(\d)"/gm)].map((m) => m[1])).size;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(SHARDS);
  }, 120_000);

  it('deletes a group on its own shard and wipes none of the others', async () => {
    const put = (instance: string) =>
      request(`/metrics/job/del-shards/instance/${instance}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '# TYPE del_gauge gauge\ndel_gauge 1\n',
      });
    for (const instance of ['a', 'b', 'c', 'd', 'e']) expect((await put(instance)).status).toBe(200);
    expect(
      (await request('/metrics/job/del-shards/instance/c', { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(202);
    const text = await (await request('/metrics')).text();
    expect([...text.matchAll(/^del_gauge\{instance="(\w)"/gm)].map((m) => m[1]).sort()).toEqual(['a', 'b', 'd', 'e']);
  });
});
