// Properties of aggregation through the memory store, compared on the rendered /metrics text: the order
// of valid delta pushes never changes the totals, and an invalid push leaves the text byte-for-byte as it
// was (push_failure_time_seconds aside). Also TTL expiry and snapshot/restore of aggregated state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory.js';
import type { PushRequest } from '../store/types.js';
import type { MetricFamily } from './model.js';

const counter = (value: number, kind: string): MetricFamily => ({
  name: 'events_total',
  help: 'Events.',
  type: 'counter',
  metrics: [{ labels: { kind }, value }],
});
const histogram = (counts: [number, number], sum: number, bounds: [number, number] = [0.25, Infinity]): MetricFamily => ({
  name: 'wait_seconds',
  help: undefined,
  type: 'histogram',
  metrics: [
    {
      labels: {},
      buckets: [
        { upperBound: bounds[0], cumulativeCount: counts[0] },
        { upperBound: bounds[1], cumulativeCount: counts[0] + counts[1] },
      ],
      sum,
      count: counts[0] + counts[1],
    },
  ],
});
const request = (families: MetricFamily[], job: string, nowMs: number, idempotencyKey?: string): PushRequest => ({
  mode: 'aggregate',
  grouping: { job },
  families,
  nowMs,
  ...(idempotencyKey ? { idempotencyKey } : {}),
});

/** The rendered text without the per-group push-time lines (their values are the push times). */
async function rendered(store: MemoryStore): Promise<string> {
  return (await store.exposition(10_000, 'text'))
    .split('\n')
    .filter((line) => !line.startsWith('push_time_seconds{') && !line.startsWith('push_failure_time_seconds{'))
    .join('\n');
}

const validPush = fc.record({
  job: fc.constantFrom('a', 'b'),
  kind: fc.constantFrom('x', 'y', 'z'),
  value: fc.nat({ max: 1_000 }),
  hist: fc.option(fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.integer({ min: -40, max: 40 }))),
});
type ValidPush = typeof validPush extends fc.Arbitrary<infer T> ? T : never;
const toRequest = (push: ValidPush, nowMs: number): PushRequest =>
  request(
    [counter(push.value, push.kind), ...(push.hist ? [histogram([push.hist[0], push.hist[1]], push.hist[2] / 8)] : [])],
    push.job,
    nowMs,
  );

const invalidFamilies: fc.Arbitrary<MetricFamily[]> = fc.oneof(
  fc.integer({ min: -50, max: -1 }).map((v) => [counter(v, 'x')]),
  fc.constant<MetricFamily[]>([histogram([1, 1], 1, [0.5, Infinity])]),
  fc.constant<MetricFamily[]>([
    { name: 'events_total', help: undefined, type: 'gauge', metrics: [{ labels: { kind: 'x' }, value: 1 }] } satisfies MetricFamily,
  ]),
  fc.constant<MetricFamily[]>([
    counter(1, 'x'),
    {
      name: 'q',
      help: undefined,
      type: 'summary',
      metrics: [{ labels: {}, quantiles: [{ quantile: 0.5, value: 1 }], sum: 1, count: 1 }],
    } satisfies MetricFamily,
  ]),
  fc.constant<MetricFamily[]>([counter(1, 'x'), counter(2, 'x')]),
);

describe('aggregation through the memory store', () => {
  it('renders the same totals for any order of the same valid pushes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(validPush, { minLength: 1, maxLength: 15 })
          .chain((pushes) =>
            fc.tuple(fc.constant(pushes), fc.shuffledSubarray(pushes, { minLength: pushes.length, maxLength: pushes.length })),
          ),
        async ([pushes, shuffled]) => {
          const inOrder = new MemoryStore();
          const reordered = new MemoryStore();
          // both start with the same histogram bounds, so no push is refused for bounds
          for (const store of [inOrder, reordered])
            for (const job of ['a', 'b']) await store.apply(request([histogram([0, 0], 0)], job, 0));
          for (const [i, push] of pushes.entries()) expect((await inOrder.apply(toRequest(push, i + 1))).status).toBe('applied');
          for (const [i, push] of shuffled.entries()) expect((await reordered.apply(toRequest(push, i + 1))).status).toBe('applied');
          expect(await rendered(reordered)).toBe(await rendered(inOrder));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('leaves the rendered store byte-for-byte unchanged after any invalid push', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(validPush, { maxLength: 8 }), fc.constantFrom('a', 'b'), invalidFamilies, async (pushes, job, invalid) => {
        const store = new MemoryStore();
        for (const j of ['a', 'b']) await store.apply(request([counter(1, 'x'), histogram([0, 0], 0)], j, 0));
        for (const [i, push] of pushes.entries()) await store.apply(toRequest(push, i + 1));
        const before = await rendered(store);
        const outcome = await store.apply(request(invalid, job, 99));
        expect(outcome.status).toBe('invalid');
        expect(await rendered(store)).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  it('expires a group not pushed for the TTL, keeping the others, without touching them', async () => {
    const store = new MemoryStore({ groupTtlMs: 1_000 });
    await store.apply(request([counter(1, 'x')], 'old', 0));
    await store.apply(request([counter(1, 'y')], 'fresh', 0));
    await store.apply(request([counter(1, 'y')], 'fresh', 900));
    expect((await store.groups(999)).map((g) => g.labels.job).sort()).toEqual(['fresh', 'old']);
    expect((await store.groups(1_000)).map((g) => g.labels.job)).toEqual(['fresh']);
    expect(await store.exposition(1_000, 'text')).not.toContain('job="old"');
    expect(await store.stats(1_900)).toEqual({
      groups: 0,
      series: 0,
      deduplicatedPushes: 0,
      idempotencyKeysEvicted: 0,
      otlpStreamsEvicted: 0,
      storedBytes: 0,
    });
  });

  it('restores a snapshot to the same rendered text, remembered keys included', async () => {
    const store = new MemoryStore();
    await store.apply(request([counter(5, 'x'), histogram([1, 2], 0.75)], 'a', 10, 'key-1'));
    await store.apply(request([counter(2, 'x')], 'a', 20, 'key-1'));
    const restored = new MemoryStore();
    restored.restore(store.snapshot(30));
    expect(await restored.exposition(40, 'text')).toBe(await store.exposition(40, 'text'));
    expect(await restored.apply(request([counter(5, 'x')], 'a', 50, 'key-1'))).toEqual({ status: 'replayed' });
    const { storedBytes } = await store.stats(60);
    expect(storedBytes).toBeGreaterThan(0);
    expect(await restored.stats(60)).toEqual({
      groups: 1,
      series: 2,
      deduplicatedPushes: 2,
      idempotencyKeysEvicted: 0,
      otlpStreamsEvicted: 0,
      storedBytes,
    });
  });
});
