// The Redis store's behaviour, for any transport (Upstash REST, RESP/TCP, Redis Cluster): the same
// semantics as the memory store (modes, validation, aggregation, idempotency, limits, TTL), state shared by
// several store instances (as by several gateway replicas), no double application under concurrency, and
// the aggregation and fuzz contracts every store runs.
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig, loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { labelText } from '../../pushgateway/core/grouping.js';
import { IDEMPOTENCY_WINDOW_MS, scopedIdempotencyKey } from '../../pushgateway/core/idempotency.js';
import type { Group, HistogramMetric, MetricFamily, ScalarMetric } from '../../pushgateway/core/model.js';
import { renderGroups } from '../../pushgateway/core/scrape-body.js';
import { unlimitedSeries } from '../../pushgateway/core/validate.js';
import { redisStoreOptions } from '../../pushgateway/store/create.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import {
  encodeSeriesValue,
  REDIS_IDEMPOTENCY_KEY_BYTES,
  REDIS_OPERATION_ID_BYTES,
  RedisStore,
  StoreUnavailableError,
} from '../../pushgateway/store/redis.js';
import type { RedisCommands } from '../../pushgateway/store/redis-commands.js';
import { deleteScript, groupRetryScript, pushScript, recordFailureScript } from '../../pushgateway/store/redis-scripts.js';
import type { OtlpPoint, PushRequest } from '../../pushgateway/store/types.js';
import { appTarget, describeFuzzContract } from './fuzz-contract.js';
import { CONTRACT_MAX_BODY_BYTES, describeAggregationContract } from './gateway-contract.js';
import { describeOtlpContract } from './otlp-contract.js';

export interface RedisTransportUnderTest {
  /** A new connection to the Redis under test (closed by the suite). */
  connect(): RedisCommands;
  /** A connection to an address where nothing answers. */
  unreachable(): RedisCommands;
}

/** Registers the cases for the transport `name`; `transport` is called once the services are up. */
export function describeRedisStore(name: string, transport: () => RedisTransportUnderTest): void {
  let prefixCounter = 0;
  let prefix: string;
  const opened: RedisCommands[] = [];
  const connect = () => {
    const commands = transport().connect();
    opened.push(commands);
    return commands;
  };
  let sharedCommands: RedisCommands | undefined;
  const shared = () => (sharedCommands ??= connect());
  const unreachable = () => transport().unreachable();
  beforeEach(() => {
    prefix = `{t${++prefixCounter}-${name}}:`;
  });
  afterAll(async () => {
    await Promise.all(opened.map((commands) => commands.close()));
  });

  type ScriptCall = Parameters<RedisCommands['evalScript']>;
  /**
   * A new connection that records every script call the store makes, and resends one through the same connection
   * as a client library does when the answer to a call that Redis ran was lost.
   */
  const recordingConnection = () => {
    const inner = connect();
    const calls: ScriptCall[] = [];
    const commands: RedisCommands = {
      description: inner.description,
      close: () => inner.close(),
      evalScript: (script, keys, args) => {
        calls.push([script, keys, args]);
        return inner.evalScript(script, keys, args);
      },
    };
    const callsOf = (script: string) => calls.filter(([called]) => called === script);
    return { commands, inner, callsOf, resend: (call: ScriptCall) => inner.evalScript(...call) };
  };

  // Every store of one test shares a connection, except where replicas are meant (own connections).
  const store = ({ own, ...options }: { groupTtlMs?: number; maxSeries?: number; maxStoredBytes?: number; own?: boolean } = {}) =>
    new RedisStore({ commands: own ? connect() : shared(), keyPrefix: prefix, ...options });

  const counter = (name: string, value: number, labels: Record<string, string> = {}, help?: string): MetricFamily => ({
    name,
    help,
    type: 'counter',
    metrics: [{ labels, value }],
  });
  const gauge = (name: string, value: number, labels: Record<string, string> = {}): MetricFamily => ({
    name,
    help: undefined,
    type: 'gauge',
    metrics: [{ labels, value }],
  });
  const histogram = (name: string, counts: number[], sum: number, bounds = [0.1, 1, Infinity]): MetricFamily => ({
    name,
    help: undefined,
    type: 'histogram',
    metrics: [
      { labels: {}, buckets: bounds.map((upperBound, i) => ({ upperBound, cumulativeCount: counts[i]! })), sum, count: counts.at(-1)! },
    ],
  });
  const push = (families: MetricFamily[], extra: Partial<PushRequest> = {}): PushRequest => ({
    mode: 'aggregate',
    grouping: { job: 'api' },
    families,
    nowMs: 1_000,
    ...extra,
  });

  /** What the scripts count in P..'bytes': per group its key, per series family name + label text + stored value. */
  const storedBytesOf = (groups: Group[]) =>
    groups.reduce(
      (total, group) =>
        total +
        Buffer.byteLength(group.key) +
        [...group.families.values()].reduce(
          (sum, family) =>
            sum +
            family.metrics.reduce(
              (bytes, metric) => bytes + Buffer.byteLength(family.name + labelText(metric.labels) + encodeSeriesValue(metric)),
              0,
            ),
          0,
        ),
      0,
    );

  async function value(s: RedisStore, name: string, grouping = 'instance="",job="api"'): Promise<number | undefined> {
    const group = (await s.groups(1_000)).find((g) => g.key === grouping);
    const metric = group?.families.get(name)?.metrics[0];
    return metric && 'value' in metric ? metric.value : undefined;
  }

  describe(`RedisStore over ${name}`, () => {
    it('adds counter deltas and histogram buckets, replaces gauges, keeps HELP', async () => {
      const s = store();
      expect(await s.apply(push([counter('jobs_total', 2, {}, 'Jobs.'), gauge('temp', 5), histogram('lat', [1, 2, 3], 0.75)]))).toEqual({
        status: 'applied',
      });
      expect(await s.apply(push([counter('jobs_total', 0.5), gauge('temp', 7), histogram('lat', [0, 1, 1], 0.25)]))).toEqual({
        status: 'applied',
      });
      const [group] = await s.groups(1_000);
      expect(group!.labels).toEqual({ job: 'api', instance: '' });
      expect(group!.families.get('jobs_total')).toEqual({
        name: 'jobs_total',
        help: 'Jobs.',
        type: 'counter',
        metrics: [{ labels: { job: 'api', instance: '' }, value: 2.5 }],
      });
      expect((group!.families.get('temp')!.metrics[0] as ScalarMetric).value).toBe(7);
      const lat = group!.families.get('lat')!.metrics[0] as HistogramMetric;
      expect(lat.buckets).toEqual([
        { upperBound: 0.1, cumulativeCount: 1 },
        { upperBound: 1, cumulativeCount: 3 },
        { upperBound: Infinity, cumulativeCount: 4 },
      ]);
      expect([lat.sum, lat.count]).toEqual([1, 4]);
    });

    it('computes the same float totals as JavaScript (round-trip %.17g)', async () => {
      const s = store();
      let expected = 0;
      for (const delta of [0.1, 0.2, 0.3, 1e-9, 12345.678]) {
        expected += delta;
        await s.apply(push([counter('f_total', delta)]));
      }
      expect(await value(s, 'f_total')).toBe(expected);
    });

    it('applies a key once in the window and counts the replay', async () => {
      const s = store();
      expect(await s.apply(push([counter('c_total', 1)], { idempotencyKey: 'k-1' }))).toEqual({ status: 'applied' });
      expect(await s.apply(push([counter('c_total', 1)], { idempotencyKey: 'k-1' }))).toEqual({ status: 'replayed' });
      expect(await s.apply(push([counter('c_total', 1)], { idempotencyKey: 'k-1', grouping: { job: 'other' } }))).toEqual({
        status: 'applied',
      });
      expect(await value(s, 'c_total')).toBe(1);
      expect((await s.stats(1_000)).deduplicatedPushes).toBe(1);
    });

    it('bounds the remembered Idempotency-Keys by GATEWAY_MAX_IDEMPOTENCY_BYTES across replicas: oldest forgotten, counted on each', async () => {
      const config = { ...defaultGatewayConfig, maxIdempotencyBytes: 2 * REDIS_IDEMPOTENCY_KEY_BYTES };
      // One millisecond between pushes, so which key is the oldest never depends on a tie of apply times.
      let nowMs = 1_000;
      const replica = () =>
        createGatewayApp({
          store: new RedisStore({ commands: connect(), keyPrefix: prefix, ...redisStoreOptions(config) }),
          config,
          clock: () => nowMs,
        });
      const [a, b] = [replica(), replica()];
      const keyedPush = async (app: typeof a, key: string) => {
        nowMs++;
        const response = await app.request('/aggregate/metrics/job/idem', {
          method: 'POST',
          headers: { 'Idempotency-Key': key },
          body: '# TYPE keyed_total counter\nkeyed_total 1\n',
        });
        expect(response.status).toBe(200);
        return response.headers.get('Idempotent-Replayed') === 'true' ? 'replayed' : 'applied';
      };
      const metrics = async (app: typeof a) => await (await app.request('/metrics')).text();
      // Three keys through alternating replicas; the shared bound of two forgets the first.
      expect([await keyedPush(a, 'k1'), await keyedPush(b, 'k2'), await keyedPush(a, 'k3')]).toEqual(['applied', 'applied', 'applied']);
      for (const app of [a, b]) expect(await metrics(app)).toContain('\ngateway_idempotency_keys_evicted_total 1\n');
      expect(await keyedPush(b, 'k3')).toBe('replayed');
      expect(await keyedPush(b, 'k2')).toBe('replayed');
      // The documented cost of the bound: a late retry of a forgotten key is applied again.
      expect(await keyedPush(a, 'k1')).toBe('applied');
      expect(await metrics(b)).toContain('\nkeyed_total{instance="",job="idem"} 4\n');
    });

    it('forgets Idempotency-Keys after the window without counting them as evicted, and replays keys of the string layout', async () => {
      const s = store();
      const keyed = (key: string, nowMs: number) => s.apply(push([counter('c_total', 1)], { idempotencyKey: key, nowMs }));
      expect(await keyed('old', 0)).toEqual({ status: 'applied' });
      expect(await keyed('old', IDEMPOTENCY_WINDOW_MS - 1)).toEqual({ status: 'replayed' });
      expect(await keyed('old', IDEMPOTENCY_WINDOW_MS)).toEqual({ status: 'applied' });
      const remembered = () => shared().evalScript("return redis.call('ZCARD', KEYS[1])", [`${prefix}kt`], []);
      expect(await remembered()).toBe(1);
      expect((await s.stats(IDEMPOTENCY_WINDOW_MS)).idempotencyKeysEvicted).toBe(0);
      // A key remembered as its own string with an expiry (the layout before the sorted set) is still a replay.
      const digest = await scopedIdempotencyKey('instance="",job="api"', 'string-layout');
      await shared().evalScript("return redis.call('SET', KEYS[1], '1', 'PX', 600000)", [`${prefix}k:${digest}`], []);
      expect(await keyed('string-layout', IDEMPOTENCY_WINDOW_MS)).toEqual({ status: 'replayed' });
    });

    it('bounds the remembered operation ids by GATEWAY_MAX_OPERATION_ID_BYTES: a resent call inside it gets the first answer, older ones are evicted and counted', async () => {
      const bound = 150;
      const config = { ...defaultGatewayConfig, maxOperationIdBytes: bound * REDIS_OPERATION_ID_BYTES };
      const { commands: recording, inner, callsOf, resend } = recordingConnection();
      let nowMs = 1_000;
      const app = createGatewayApp({
        store: new RedisStore({ commands: recording, keyPrefix: prefix, ...redisStoreOptions(config) }),
        config,
        clock: () => nowMs,
      });
      const pushOne = async (headers: Record<string, string> = {}) => {
        nowMs++;
        const response = await app.request('/aggregate/metrics/job/ops', {
          method: 'POST',
          headers,
          body: '# TYPE ops_total counter\nops_total 1\n',
        });
        expect(response.status).toBe(200);
        return callsOf(pushScript).at(-1)!;
      };
      const metric = async (name: string) =>
        Number(new RegExp(`\n${name}(?:\\{[^}]*\\})? (\\S+)\n`).exec(await (await app.request('/metrics')).text())?.[1]);

      const first = await pushOne();
      await pushOne({ 'Idempotency-Key': 'k1' });
      const replay = await pushOne({ 'Idempotency-Key': 'k1' });
      for (let i = 3; i < bound; i++) await pushOne();
      expect(await resend(first)).toEqual(['applied']);
      expect(await resend(replay)).toEqual(['replayed']);
      expect([await metric('ops_total'), await metric('gateway_pushes_deduplicated_total')]).toEqual([bound - 1, 1]);
      expect(await metric('gateway_operation_ids_evicted_total')).toBe(0);

      const past = 2 * bound;
      for (let i = 0; i < past; i++) await pushOne();
      expect(await metric('gateway_operation_ids_evicted_total')).toBe(past);
      const [remembered, bytes, stringKeys] = (await inner.evalScript(
        "return {redis.call('ZCARD', KEYS[1]), redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', 0), #redis.call('KEYS', ARGV[1])}",
        [`${prefix}ot`],
        [`${prefix}op:*`],
      )) as number[];
      expect(remembered).toBe(bound);
      expect(bytes).toBeLessThanOrEqual(bound * REDIS_OPERATION_ID_BYTES);
      expect(stringKeys).toBe(0);
      // The documented cost of the bound: a call resent after its id was evicted is applied again (a later call than
      // the first, whose facts would conflict by now).
      expect(await resend(callsOf(pushScript)[3]!)).toEqual(['applied']);
      expect(await metric('ops_total')).toBe(bound - 1 + past + 1);
    });

    it.each([
      ['a negative counter', [counter('c_total', -1)], /finite number >= 0/],
      [
        'a summary',
        [{ name: 's', help: undefined, type: 'summary', metrics: [{ labels: {}, quantiles: [], sum: 1, count: 1 }] } as MetricFamily],
        /cannot be aggregated/,
      ],
      [
        'other bucket bounds',
        [counter('c_total', 1), histogram('lat', [1, 1, 1], 1, [0.5, 1, Infinity])],
        /bucket bounds \[0\.5,1,\+Inf\] differ from the stored \[0\.1,1,\+Inf\]/,
      ],
      ['a type change', [gauge('c_total', 1)], /pushed as gauge but is a counter/],
      ['a timestamp', [counter('c_total', 1)], /must not have timestamps/],
    ])('refuses %s and changes nothing but the failure time', async (what, families, message) => {
      const s = store();
      await s.apply(push([counter('c_total', 3), histogram('lat', [1, 1, 1], 1)], { nowMs: 500 }));
      const before = renderGroups(await s.groups(1_000), 'text');
      const outcome = await s.apply(
        push(families, { nowMs: 900, ...(what === 'a timestamp' ? { timestampedSample: { name: 'c_total', line: 1 } } : {}) }),
      );
      expect(outcome.status).toBe('invalid');
      expect(outcome.status === 'invalid' && outcome.message).toMatch(message);
      const groups = await s.groups(1_000);
      expect(groups[0]!.lastFailureMs).toBe(900);
      expect(renderGroups(groups, 'text')).toBe(
        before.replace('push_failure_time_seconds{instance="",job="api"} 0', 'push_failure_time_seconds{instance="",job="api"} 0.9'),
      );
    });

    it('refuses a type conflict and a series owned by another group', async () => {
      const s = store();
      await s.apply(push([counter('shared_total', 1, { instance: 'x' })], { grouping: { job: 'a' } }));
      const conflict = await s.apply(push([gauge('shared_total', 1)], { grouping: { job: 'b' } }));
      expect(conflict.status === 'invalid' && conflict.message).toMatch(/pushed as gauge but is a counter/);
      const owned = await s.apply(push([counter('shared_total', 1)], { grouping: { job: 'a', instance: 'x' } }));
      expect(owned.status === 'invalid' && owned.message).toMatch(/was collected before with the same name and label values/);
    });

    it('refuses a series owned by another group under a UTF-8 metric name too', async () => {
      const s = new RedisStore({ commands: shared(), keyPrefix: prefix, seriesLimits: { ...unlimitedSeries, names: 'utf8' } });
      expect(await s.apply(push([counter('shared.requests_total', 1, { instance: 'x' })], { grouping: { job: 'a' } }))).toEqual({
        status: 'applied',
      });
      const owned = await s.apply(push([counter('shared.requests_total', 1)], { grouping: { job: 'a', instance: 'x' } }));
      expect(owned.status === 'invalid' && owned.message).toMatch(/was collected before with the same name and label values/);
    });

    it('supports the official modes: PUT replaces the group, POST replaces pushed families', async () => {
      const s = store();
      await s.apply(push([counter('a_total', 1), counter('b_total', 2)], { mode: 'replace' }));
      await s.apply(push([counter('a_total', 5)], { mode: 'merge-families' }));
      expect([await value(s, 'a_total'), await value(s, 'b_total')]).toEqual([5, 2]);
      await s.apply(push([gauge('only', 1)], { mode: 'replace' }));
      const [group] = await s.groups(1_000);
      expect([...group!.families.keys()]).toEqual(['only']);
      expect((await s.stats(1_000)).series).toBe(1);
    });

    it('refuses a push over GATEWAY_MAX_SERIES with nothing stored', async () => {
      const s = store({ maxSeries: 2 });
      await s.apply(push([counter('a_total', 1), counter('b_total', 1)]));
      expect(await s.apply(push([counter('a_total', 1)]))).toEqual({ status: 'applied' });
      const outcome = await s.apply(push([counter('a_total', 1), counter('c_total', 1)]));
      expect(outcome).toEqual({ status: 'too-many-series', message: expect.stringContaining('3 series, more than GATEWAY_MAX_SERIES=2') });
      expect(await value(s, 'a_total')).toBe(2);
    });

    it('refuses a push over GATEWAY_MAX_STORED_BYTES with nothing stored, shares the count between replicas, and frees it', async () => {
      const [a, b] = [store({ own: true, maxStoredBytes: 250 }), store({ own: true, maxStoredBytes: 250 })];
      expect(await a.apply(push([counter('a_total', 1, { v: 'x'.repeat(60) })], { mode: 'replace' }))).toEqual({ status: 'applied' });
      const held = (await b.stats(1_000)).storedBytes!;
      expect(held).toBe(storedBytesOf(await b.groups(1_000)));
      // Over the bound through the other replica, and nothing of it is stored.
      const refused = await b.apply(push([counter('b_total', 1, { v: 'y'.repeat(100) })], { grouping: { job: 'other' } }));
      expect(refused).toEqual({ status: 'store-full', message: expect.stringContaining('more than GATEWAY_MAX_STORED_BYTES=250') });
      expect((await a.groups(1_000)).map((g) => g.labels.job)).toEqual(['api']);
      expect((await a.stats(1_000)).storedBytes).toBe(held);
      // Growing a stored counter's digits is growth too; a push that shrinks the store is always taken.
      expect(await a.apply(push([counter('a_total', 0.123456789, { v: 'x'.repeat(60) })]))).toEqual({ status: 'applied' });
      expect((await a.stats(1_000)).storedBytes).toBe(storedBytesOf(await a.groups(1_000)));
      expect(await a.apply(push([counter('a_total', 1)], { mode: 'replace' }))).toEqual({ status: 'applied' });
      expect(await b.apply(push([counter('b_total', 1, { v: 'y'.repeat(100) })], { grouping: { job: 'other' } }))).toEqual({
        status: 'applied',
      });
      expect((await b.stats(1_000)).storedBytes).toBe(storedBytesOf(await b.groups(1_000)));
      // A store written before the count existed (here: the count deleted) is counted once, then kept.
      await shared().evalScript("redis.call('DEL', KEYS[1])", [`${prefix}bytes`], []);
      expect((await b.stats(1_000)).storedBytes).toBe(storedBytesOf(await b.groups(1_000)));
      await a.deleteGroup({ job: 'api' }, 1_000);
      await a.deleteGroup({ job: 'other' }, 1_000);
      expect((await b.stats(1_000)).storedBytes).toBe(0);
    });

    it('serves gateway_stored_bytes and /-/ready from the shared count on every replica', async () => {
      const replica = (maxStoredBytes: number) =>
        createGatewayApp({
          store: new RedisStore({ commands: connect(), keyPrefix: prefix, maxStoredBytes }),
          config: { ...defaultGatewayConfig, maxStoredBytes },
        });
      // A replica started with a higher bound filled the store past the other's (a bound lowered in a rolling restart).
      const [high, low] = [replica(0), replica(100)];
      expect((await high.request('/metrics/job/big', { method: 'PUT', body: `m{v="${'x'.repeat(150)}"} 1\n` })).status).toBe(200);
      const storedBytes = async (app: typeof high) =>
        Number(/^gateway_stored_bytes (\d+)$/m.exec(await (await app.request('/metrics')).text())?.[1]);
      expect(await storedBytes(low)).toBe(await storedBytes(high));
      expect(await storedBytes(low)).toBeGreaterThan(150);
      const ready = await low.request('/-/ready');
      expect([ready.status, await ready.text()]).toEqual([503, expect.stringContaining('more than GATEWAY_MAX_STORED_BYTES=100')]);
      expect((await low.request('/metrics/job/more', { method: 'PUT', body: 'm 1\n' })).status).toBe(429);
      expect((await high.request('/metrics/job/big', { method: 'DELETE' })).status).toBe(202);
      expect((await low.request('/-/ready')).status).toBe(200);
      expect(await storedBytes(high)).toBe(0);
    });

    it('takes a PUT or POST near GATEWAY_MAX_STORED_BYTES that only replaces what the group holds', async () => {
      const s = store({ maxStoredBytes: 150 });
      const big = (mark: string) => [counter('a_total', 1, { v: mark.repeat(60) })];
      expect(await s.apply(push(big('x'), { mode: 'replace' }))).toEqual({ status: 'applied' });
      const held = (await s.stats(1_000)).storedBytes!;
      expect(held * 2).toBeGreaterThan(150); // held + the pushed family alone would not fit
      expect(await s.apply(push(big('y'), { mode: 'replace' }))).toEqual({ status: 'applied' });
      expect(await s.apply(push(big('z'), { mode: 'merge-families' }))).toEqual({ status: 'applied' });
      expect((await s.stats(1_000)).storedBytes).toBe(held);
      expect((await s.apply(push([counter('b_total', 1, { v: 'w'.repeat(60) })], { mode: 'merge-families' }))).status).toBe('store-full');
    });

    it('records no failure on a new group once GATEWAY_MAX_STORED_BYTES is reached', async () => {
      const s = store({ maxStoredBytes: 100 });
      expect(await s.apply(push([counter('a_total', 1, { v: 'x'.repeat(40) })]))).toEqual({ status: 'applied' });
      const refused = await s.apply(push([counter('a_total', -1)], { grouping: { job: 'j'.repeat(60) } }));
      expect(refused.status).toBe('invalid');
      expect((await s.groups(1_000)).map((g) => g.labels.job)).toEqual(['api']);
    });

    it('expires groups not pushed for the TTL, and frees their series', async () => {
      const s = store({ groupTtlMs: 1_000 });
      await s.apply(push([counter('old_total', 1)], { grouping: { job: 'old' }, nowMs: 0 }));
      await s.apply(push([counter('new_total', 1)], { grouping: { job: 'new' }, nowMs: 600 }));
      expect((await s.groups(999)).map((g) => g.labels.job)).toEqual(['old', 'new']);
      expect((await s.groups(1_000)).map((g) => g.labels.job)).toEqual(['new']);
      expect(await s.stats(1_000)).toMatchObject({ groups: 1, series: 1, deduplicatedPushes: 0 });
      // the expired group's family name is free again for another type
      expect((await s.apply(push([gauge('old_total', 1)], { nowMs: 1_001 }))).status).toBe('applied');
    });

    it('deletes one group and wipes all', async () => {
      const s = store();
      await s.apply(push([counter('a_total', 1)], { grouping: { job: 'a' } }));
      await s.apply(push([counter('b_total', 1)], { grouping: { job: 'b' } }));
      expect(await s.deleteGroup({ job: 'a' }, 1_000)).toBe(true);
      expect(await s.deleteGroup({ job: 'a' }, 1_000)).toBe(false);
      expect((await s.groups(1_000)).map((g) => g.labels.job)).toEqual(['b']);
      await s.wipe();
      expect(await s.stats(1_000)).toMatchObject({ groups: 0, series: 0, storedBytes: 0, deduplicatedPushes: 0 });
    });

    it('shares state between instances and never applies a push twice under concurrency', async () => {
      const replicas = [store({ own: true }), store({ own: true }), store({ own: true })];
      const pushes = Array.from({ length: 300 }, (_, i) => ({ key: `p-${i % 150}`, delta: (i % 150) + 1, series: `s${(i % 150) % 7}` }));
      // every key is sent twice, to different replicas, concurrently; new series appear as they go
      await Promise.all(
        pushes.map((p, i) =>
          replicas[i % 3]!.apply(push([counter('work_total', p.delta, { shard: p.series })], { idempotencyKey: p.key })),
        ),
      );
      const expected = new Map<string, number>();
      for (let i = 0; i < 150; i++) expected.set(`s${i % 7}`, (expected.get(`s${i % 7}`) ?? 0) + i + 1);
      for (const replica of replicas) {
        const [group] = await replica.groups(1_000);
        const got = new Map(group!.families.get('work_total')!.metrics.map((m) => [m.labels.shard!, (m as ScalarMetric).value]));
        expect(got).toEqual(expected);
      }
      expect((await replicas[0]!.stats(1_000)).deduplicatedPushes).toBe(150);
    });

    const native = (zeroCount: number): MetricFamily => ({
      name: 'nh',
      help: undefined,
      type: 'histogram',
      metrics: [
        {
          labels: {},
          buckets: [],
          sum: 1.5,
          count: zeroCount + 3,
          native: {
            schema: 2,
            zeroThreshold: 2 ** -128,
            zeroCount,
            positiveSpans: [{ offset: -1, length: 2 }],
            positiveCounts: [1, 2],
            negativeSpans: [],
            negativeCounts: [],
          },
        },
      ],
    });

    it('stores native histograms for PUT/POST, merges native deltas, and refuses classic into native, changing nothing', async () => {
      const s = store();
      expect(await s.apply(push([native(1)], { mode: 'replace' }))).toEqual({ status: 'applied' });
      const stored = () => s.groups(2_000).then((groups) => groups[0]!.families.get('nh')!.metrics[0] as HistogramMetric);
      expect(await stored()).toEqual({ ...native(1).metrics[0], labels: { job: 'api', instance: '' } });
      expect(await s.apply(push([native(2)]))).toEqual({ status: 'applied' });
      const merged = await stored();
      expect(merged.native).toEqual({ ...(native(1).metrics[0] as HistogramMetric).native, zeroCount: 3, positiveCounts: [2, 4] });
      expect([merged.count, merged.sum]).toEqual([9, 3]);
      // A classic delta into the stored native series is refused inside the script.
      const classic = await s.apply(push([histogram('nh', [1, 1, 1], 1)]));
      expect(classic).toEqual({
        status: 'invalid',
        message: expect.stringContaining('is pushed as a classic histogram but is stored as a native one'),
      });
      expect((await stored()).native).toEqual(merged.native);
    });

    it('merges concurrent native deltas from several replicas exactly once each', async () => {
      const replicas = [store(), store(), store()];
      await Promise.all(Array.from({ length: 30 }, (_, i) => replicas[i % 3]!.apply(push([native(1)], { idempotencyKey: `n${i}` }))));
      const [group] = await replicas[0]!.groups(2_000);
      const metric = group!.families.get('nh')!.metrics[0] as HistogramMetric;
      expect([metric.native!.zeroCount, metric.native!.positiveCounts, metric.count]).toEqual([30, [30, 60], 120]);
    });

    /** One OTLP DELTA counter point of `stream` covering [start, end) seconds. */
    const deltaPoint = (stream: string, value: number, start: number, end: number): OtlpPoint => ({
      name: 'otlp_total',
      help: undefined,
      type: 'counter',
      metric: { labels: { stream }, value },
      combine: 'add',
      window: { stream, startNs: BigInt(start) * 1_000_000_000n, endNs: BigInt(end) * 1_000_000_000n },
    });
    const otlpTotal = async (s: RedisStore, stream: string, nowMs = 1_000) => {
      const group = (await s.groups(nowMs)).find((g) => g.labels.job === 'otel');
      const metric = group?.families.get('otlp_total')?.metrics.find((m) => m.labels.stream === stream);
      return metric && (metric as ScalarMetric).value;
    };

    it('applies each OTLP delta window once across replicas exporting the same windows at once', async () => {
      const replicas = [store({ own: true }), store({ own: true }), store({ own: true })];
      let expected = 0;
      const totals = { applied: 0, replayed: 0, overlapping: 0 };
      for (let window = 0; window < 8; window++) {
        const points = ['a', 'b'].map((stream) => deltaPoint(stream, window + 1, window * 10, window * 10 + 10));
        expected += window + 1;
        // Each export reaches every replica at once, as a retry racing the first attempt would.
        const outcomes = await Promise.all(
          replicas.map((replica) => replica.applyOtlp({ groups: [{ grouping: { job: 'otel' }, points }], nowMs: 1_000 })),
        );
        for (const outcome of outcomes) {
          totals.applied += outcome.applied;
          totals.replayed += outcome.replayed;
          totals.overlapping += outcome.overlapping;
        }
      }
      expect(totals).toEqual({ applied: 16, replayed: 32, overlapping: 0 });
      for (const replica of replicas) expect([await otlpTotal(replica, 'a'), await otlpTotal(replica, 'b')]).toEqual([expected, expected]);
    });

    it('bounds the remembered OTLP streams (oldest forgotten first, counted) and forgets them with the group TTL', async () => {
      const s = new RedisStore({ commands: shared(), keyPrefix: prefix, maxOtlpStreams: 2, groupTtlMs: 10_000 });
      const otlp = (points: OtlpPoint[], nowMs: number) => s.applyOtlp({ groups: [{ grouping: { job: 'otel' }, points }], nowMs });
      await otlp([deltaPoint('a', 1, 0, 10)], 1_000);
      await otlp([deltaPoint('b', 1, 0, 10), deltaPoint('c', 1, 0, 10)], 2_000);
      expect((await s.stats(2_000)).otlpStreamsEvicted).toBe(1);
      // b is remembered: a replay; a was forgotten: its retry is applied again (the documented limit of the bound).
      expect(await otlp([deltaPoint('b', 1, 0, 10)], 3_000)).toMatchObject({ applied: 0, replayed: 1 });
      expect(await otlp([deltaPoint('a', 1, 0, 10)], 3_000)).toMatchObject({ applied: 1, replayed: 0 });
      expect(await otlpTotal(s, 'a', 3_000)).toBe(2);
      // 10 s after c's last apply, its window is forgotten with the TTL (the group itself lives on through a's pushes).
      expect(await otlp([deltaPoint('c', 1, 0, 10)], 11_999)).toMatchObject({ replayed: 1 });
      await otlp([deltaPoint('a', 1, 10, 20)], 11_000);
      expect(await otlp([deltaPoint('c', 1, 0, 10)], 12_000)).toMatchObject({ applied: 1 });
    });

    it('answers a resent refusal, OTLP retry count, delete or wipe as its first run: counted once, nothing removed again', async () => {
      const { commands, callsOf, resend } = recordingConnection();
      const s = new RedisStore({ commands, keyPrefix: prefix });
      const last = (script: string) => callsOf(script).at(-1)!;
      const jobs = async () => (await s.groups(1_000)).map((g) => g.labels.job).sort();

      // A refused push whose Idempotency-Key was applied: one replay, on the store and on its group.
      await s.apply(push([counter('c_total', 1)], { idempotencyKey: 'k', nowMs: 800 }));
      expect(await s.apply(push([counter('c_total', -1)], { idempotencyKey: 'k', nowMs: 850 }))).toEqual({ status: 'replayed' });
      expect(await resend(last(recordFailureScript))).toBe('replayed');
      expect((await s.stats(1_000)).deduplicatedPushes).toBe(1);
      expect((await s.groups(1_000))[0]!.deduplicatedRetries).toBe(1);
      // A refusal resent after a later one keeps the later failure time.
      expect((await s.apply(push([counter('c_total', -1)], { nowMs: 900 }))).status).toBe('invalid');
      const refusedAt900 = last(recordFailureScript);
      expect((await s.apply(push([counter('c_total', -1)], { nowMs: 950 }))).status).toBe('invalid');
      expect(await resend(refusedAt900)).toBe('invalid');
      expect((await s.groups(1_000))[0]!.lastFailureMs).toBe(950);

      // An OTLP export whose window was applied: one retry on its group.
      const otlp = () => s.applyOtlp({ groups: [{ grouping: { job: 'otel' }, points: [deltaPoint('a', 1, 0, 10)] }], nowMs: 1_000 });
      await otlp();
      expect(await otlp()).toMatchObject({ applied: 0, replayed: 1 });
      expect(await resend(last(groupRetryScript))).toBe(1);
      expect((await s.groups(1_000)).find((g) => g.labels.job === 'otel')!.deduplicatedRetries).toBe(1);

      // A delete (one that removed a group, and one that found none) and a wipe resent after pushes stored the group again.
      const pushTo = (job: string) => s.apply(push([counter('c_total', 1)], { grouping: { job } }));
      await pushTo('gone');
      expect(await s.deleteGroup({ job: 'gone' }, 1_000)).toBe(true);
      const removedOne = last(deleteScript);
      expect(await s.deleteGroup({ job: 'absent' }, 1_000)).toBe(false);
      const removedNone = last(deleteScript);
      await pushTo('gone');
      await pushTo('absent');
      expect([await resend(removedOne), await resend(removedNone)]).toEqual([1, 0]);
      expect(await jobs()).toEqual(['absent', 'api', 'gone', 'otel']);
      await s.wipe();
      await pushTo('after');
      expect(await resend(last(deleteScript))).toBe(1);
      expect(await jobs()).toEqual(['after']);
    });

    it('answers StoreUnavailableError when Redis cannot be reached', async () => {
      const down = new RedisStore({ commands: unreachable(), keyPrefix: prefix });
      try {
        await expect(down.apply(push([counter('c_total', 1)]))).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        await down.close();
      }
    }, 20_000);
  });

  // The same HTTP contract as the memory store and the Workers build, and the same fuzz contract.
  const contractConfig = loadGatewayConfig({
    GATEWAY_PUSH_TOKEN: 'redis-contract',
    GATEWAY_MAX_BODY_BYTES: String(CONTRACT_MAX_BODY_BYTES),
  });
  let contractApp: ReturnType<typeof createGatewayApp> | undefined;
  describeAggregationContract(`Redis store over ${name}`, () => {
    contractApp ??= createGatewayApp({
      store: new RedisStore({ commands: shared(), keyPrefix: `{contract-${name}}:` }),
      config: contractConfig,
    });
    return { token: 'redis-contract', fetch: async (path, init) => await contractApp!.request(path, init) };
  });
  let otlpRuns = 0;
  describeOtlpContract(
    `Redis store over ${name}`,
    (config) => new RedisStore({ commands: shared(), keyPrefix: `{otlp-${name}-${++otlpRuns}}:`, ...redisStoreOptions(config) }),
  );
  let fuzzRuns = 0;
  describeFuzzContract(
    `Redis store over ${name}`,
    () => appTarget(new RedisStore({ commands: shared(), keyPrefix: `{fuzz-${name}-${++fuzzRuns}}:` })),
    2000,
    300_000,
  );

  describe(`RedisStore over ${name} and MemoryStore`, () => {
    it('render byte-identical /metrics for the same sequence of pushes (any mode, valid or not)', async () => {
      const family = fc.oneof(
        fc
          .record({ name: fc.constantFrom('a_total', 'b_total'), v: fc.integer({ min: -2, max: 9 }), l: fc.constantFrom('x', 'y') })
          .map(({ name, v, l }) => counter(name, v, { l })),
        fc.record({ v: fc.integer({ min: -5, max: 5 }) }).map(({ v }) => gauge('a_total', v)),
        fc
          .record({ c: fc.nat({ max: 5 }), d: fc.nat({ max: 5 }), s: fc.integer({ min: -8, max: 8 }), wide: fc.boolean() })
          .map(({ c, d, s, wide }) => histogram('lat', [c, c + d, c + d + 1], s / 4, wide ? [0.5, 1, Infinity] : [0.1, 1, Infinity])),
      );
      const step = fc.record({
        mode: fc.constantFrom<PushRequest['mode']>('aggregate', 'aggregate', 'replace', 'merge-families'),
        job: fc.constantFrom('j1', 'j2'),
        families: fc.array(family, { maxLength: 3 }),
        key: fc.option(fc.constantFrom('k1', 'k2', 'k3')),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
          prefix = `{prop${++prefixCounter}-${name}}:`;
          const redisStore = store();
          const memory = new MemoryStore();
          for (const [i, { mode, job, families, key }] of steps.entries()) {
            // one family per name per push (a push naming a family twice is refused by both, tested elsewhere)
            const unique = [...new Map(families.map((f) => [f.name, f])).values()];
            const request = push(unique, { mode, grouping: { job }, nowMs: 1_000 + i, ...(key ? { idempotencyKey: key } : {}) });
            const [fromRedis, fromMemory] = [await redisStore.apply(request), await memory.apply(request)];
            expect(fromRedis.status).toBe(fromMemory.status);
          }
          const groups = await redisStore.groups(2_000);
          expect(renderGroups(groups, 'text')).toBe(await memory.exposition(2_000, 'text'));
          const stats = await redisStore.stats(2_000);
          expect(stats.storedBytes).toBe(storedBytesOf(groups));
          // The series index (P..'o', rewritten by difference) holds exactly the stored series.
          expect(stats.series).toBe((await memory.stats(2_000)).series);
        }),
        { numRuns: 40 },
      );
    }, 120_000);
  });
}
