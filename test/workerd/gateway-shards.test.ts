// The Workers build with GATEWAY_DO_SHARDS=4 in real workerd: groups spread over four Durable Objects by
// grouping key, the aggregation contract unchanged, exact totals under concurrent keyed pushes with retries,
// remote write of every shard's groups from shard 0's alarm (its self-metrics on the Worker's /metrics), family
// types validated across shards as one store validates them, and a series held on two shards scraped once and
// remote-written once per interval with the scrape's value (to a receiver here that keeps every WriteRequest).
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupKey } from '../../pushgateway/core/grouping.js';
import { shardOf } from '../../pushgateway/store/durable-object-shards.js';
import { CONTRACT_MAX_BODY_BYTES, describeAggregationContract } from '../support/gateway-contract.js';
import { type DecodedSeries, decodeRequestBody } from '../support/remote-write-decode.js';
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
let receiver: Server;
/** Every WriteRequest the receiver here was sent, decoded. */
const received: DecodedSeries[][] = [];

beforeAll(async () => {
  dir = makeTempDir('gw-workerd-shards');
  victoria = await startVictoriaMetrics();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(decodeRequestBody(Buffer.concat(chunks)));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((listening) => receiver.listen(0, '127.0.0.1', listening));
  const address = receiver.address();
  const receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/write`;
  const scriptPath = await bundleWorker(CONFIG, join(dir, 'bundle'));
  worker = await startWorker({
    config: CONFIG,
    scriptPath,
    bindings: {
      GATEWAY_PUSH_TOKEN: TOKEN,
      GATEWAY_MAX_BODY_BYTES: String(CONTRACT_MAX_BODY_BYTES),
      GATEWAY_DO_SHARDS: String(SHARDS),
      GATEWAY_REMOTE_WRITE_URL: `${victoria.url}/api/v1/write,${receiverUrl}`,
      GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '1',
    },
  });
}, 180_000);
afterAll(async () => {
  await worker?.stop();
  await victoria?.stop();
  if (receiver) await new Promise((closed) => receiver.close(closed));
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
    // Shard 0 remote-writes every shard's groups; the receiver sees the union.
    await expect
      .poll(async () => (await queryPrometheus(victoria.url, 'sum(sharded_work_total{job="sharded"})')).map((r) => r.value[1]), {
        timeout: 30_000,
        interval: 500,
      })
      .toEqual([String(sum)]);
    // One sender, so one shard's remote-write self-metrics, per receiver.
    await expect
      .poll(
        async () => {
          const metrics = await (await request('/metrics')).text();
          return [...metrics.matchAll(/^prometheus_remote_storage_samples_total\{shard="(\d)",url="[^"]+"\} [1-9]/gm)].map((m) => m[1]);
        },
        { timeout: 20_000, interval: 500 },
      )
      .toEqual(['0', '0']);
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

  const auth = { authorization: `Bearer ${TOKEN}` };
  const put = (path: string, body: string) => request(path, { method: 'PUT', headers: auth, body });
  /** Two grouping label sets of `job` whose groups live on different shards. */
  const onTwoShards = (job: string): [string, string] => {
    for (let i = 0; ; i++)
      for (let j = i + 1; j < i + 8; j++)
        if (shardOf(groupKey({ job, instance: `i${i}` }), SHARDS) !== shardOf(groupKey({ job, instance: `i${j}` }), SHARDS))
          return [`i${i}`, `i${j}`];
  };

  it('refuses a family held with another type on another shard, as one store would, until no group holds it', async () => {
    const [a, b] = onTwoShards('types');
    expect((await put(`/metrics/job/types/instance/${a}`, '# TYPE cross_shard_x counter\ncross_shard_x 1\n')).status).toBe(200);
    const refused = await put(`/metrics/job/types/instance/${b}`, '# TYPE cross_shard_x gauge\ncross_shard_x 5\n');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('metric family \\"cross_shard_x\\" is pushed as gauge but is a counter in the gateway');
    const aggregated = await request(`/aggregate/metrics/job/types/instance/${b}`, {
      method: 'POST',
      headers: auth,
      body: '# TYPE cross_shard_x gauge\ncross_shard_x 5\n',
    });
    expect(aggregated.status).toBe(400);
    // OTLP: the group's points are refused in partial_success, the rest of the gateway unchanged.
    const otlp = await request('/v1/metrics', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceMetrics: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'types' } },
                { key: 'service.instance.id', value: { stringValue: b } },
              ],
            },
            scopeMetrics: [{ metrics: [{ name: 'cross_shard_x', gauge: { dataPoints: [{ asDouble: 5, timeUnixNano: '1' }] } }] }],
          },
        ],
      }),
    });
    expect(otlp.status).toBe(200);
    expect(((await otlp.json()) as { partialSuccess?: { rejectedDataPoints?: string } }).partialSuccess?.rejectedDataPoints).toBe('1');
    let text = await (await request('/metrics')).text();
    expect(text.match(/^# TYPE cross_shard_x \w+$/gm)).toEqual(['# TYPE cross_shard_x counter']);
    expect(text).not.toContain(`cross_shard_x{instance="${b}"`);
    expect(text).toMatch(new RegExp(`^push_failure_time_seconds\\{instance="${b}",job="types"\\} [1-9]`, 'm'));
    // Once the counter's only group is gone, the gauge is accepted.
    expect((await request(`/metrics/job/types/instance/${a}`, { method: 'DELETE', headers: auth })).status).toBe(202);
    expect((await put(`/metrics/job/types/instance/${b}`, '# TYPE cross_shard_x gauge\ncross_shard_x 5\n')).status).toBe(200);
    text = await (await request('/metrics')).text();
    expect(text.match(/^# TYPE cross_shard_x \w+$/gm)).toEqual(['# TYPE cross_shard_x gauge']);
  });

  it('never stores two types of one family when pushes of both race on two shards', async () => {
    const [a, b] = onTwoShards('race');
    for (let round = 0; round < 8; round++) {
      const name = `race_family_${round}`;
      const statuses = (
        await Promise.all([
          put(`/metrics/job/race/instance/${a}`, `# TYPE ${name} counter\n${name} 1\n`),
          put(`/metrics/job/race/instance/${b}`, `# TYPE ${name} gauge\n${name} 1\n`),
        ])
      ).map((response) => response.status);
      expect(statuses).toContain(400);
      const text = await (await request('/metrics')).text();
      expect(text.match(new RegExp(`^${name}\\{`, 'gm'))?.length ?? 0).toBe(statuses.filter((status) => status === 200).length);
    }
  });

  it('scrapes a series held by groups on two shards once, from the group first in key order, and remote-writes that copy once', async () => {
    let job = 'dup0';
    for (let i = 0; shardOf(groupKey({ job }), SHARDS) === shardOf(groupKey({ job, instance: 'x' }), SHARDS); i++) job = `dup${i}`;
    expect((await put(`/metrics/job/${job}`, '# TYPE dup_series gauge\ndup_series{instance="x"} 1\n')).status).toBe(200);
    expect((await put(`/metrics/job/${job}/instance/x`, '# TYPE dup_series gauge\ndup_series 2\n')).status).toBe(200);
    const pushedMs = Date.now();
    const text = await (await request('/metrics')).text();
    expect(text.match(new RegExp(`^dup_series\\{instance="x",job="${job}"\\} .*$`, 'gm'))).toEqual([
      `dup_series{instance="x",job="${job}"} 1`,
    ]);
    // Each interval's sends, by the interval (of 1 s) their samples are stamped in: the series once in each.
    const sentByInterval = () => {
      const intervals = new Map<number, number[]>();
      for (const series of received.flat()) {
        const labels = Object.fromEntries(series.labels);
        if (labels.__name__ !== 'dup_series' || labels.job !== job || labels.instance !== 'x') continue;
        for (const { value, timestampMs } of series.samples) {
          if (timestampMs < pushedMs) continue;
          const interval = Math.floor(timestampMs / 1000);
          intervals.set(interval, [...(intervals.get(interval) ?? []), value]);
        }
      }
      return intervals;
    };
    await expect.poll(() => sentByInterval().size, { timeout: 20_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    for (const values of sentByInterval().values()) expect(values).toEqual([1]);
  });
});
