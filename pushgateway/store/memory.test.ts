import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupKey } from '../core/grouping.js';
import type { Group, Labels, MetricFamily, MetricType } from '../core/model.js';
import { renderGroups } from '../core/scrape-body.js';
import { SLICE } from '../core/slices.js';
import { parseTextExposition } from '../core/text-parser.js';
import { seriesKey } from '../core/validate.js';
import { MemoryStore } from './memory.js';
import type { PushMode } from './types.js';

const text = (body: string) => parseTextExposition(body);

async function push(store: MemoryStore, mode: PushMode, grouping: Labels, body: string, nowMs = 1000) {
  const parsed = text(body);
  return store.apply({
    mode,
    grouping,
    families: parsed.families,
    ...(parsed.timestampedSample ? { timestampedSample: parsed.timestampedSample } : {}),
    nowMs,
  });
}

/** Everything but push_failure_time_seconds, deep-copied. */
async function contents(store: MemoryStore): Promise<unknown> {
  const groups = await store.groups(0);
  return structuredClone(
    groups
      .map((g) => ({ key: g.key, labels: g.labels, lastPushMs: g.lastPushMs, families: g.families }))
      .sort((a, b) => (a.key < b.key ? -1 : 1)),
  );
}

async function exposition(store: MemoryStore): Promise<string> {
  return store.exposition(0, 'text');
}

describe('MemoryStore, official semantics', () => {
  it('PUT replaces the group, POST replaces only the pushed families', async () => {
    const store = new MemoryStore();
    await push(store, 'merge-families', { job: 'p' }, '# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n');
    await push(store, 'merge-families', { job: 'p' }, '# TYPE b gauge\nb{x="1"} 3\n');
    expect(await exposition(store)).toContain('a{instance="",job="p"} 1\n# TYPE b gauge\nb{instance="",job="p",x="1"} 3\n');
    await push(store, 'replace', { job: 'p' }, '# TYPE c gauge\nc 1\n');
    const after = await exposition(store);
    expect(after).not.toMatch(/^a\{|^b\{/m);
    expect(after).toContain('c{instance="",job="p"} 1\n');
  });

  it('applies grouping labels over body labels and adds instance="" only when there is none', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 'a' }, 'm{instance="x"} 1\n');
    await push(store, 'replace', { job: 'b', foo: 'g' }, 'm{job="zz",foo="b"} 3\n');
    const out = await exposition(store);
    expect(out).toContain('m{instance="x",job="a"} 1\n');
    expect(out).toContain('m{foo="g",instance="",job="b"} 3\n');
    expect(out).toContain('push_time_seconds{instance="",job="a"} 1\n');
  });

  it('treats /job/a and /job/a/instance/ as the same group', async () => {
    const store = new MemoryStore();
    expect(await push(store, 'replace', { job: 'a' }, 'm 1\n')).toEqual({ status: 'applied' });
    expect(await push(store, 'replace', { job: 'a', instance: '' }, 'm 2\n')).toEqual({ status: 'applied' });
    expect((await store.stats(0)).groups).toBe(1);
  });

  it('refuses a type conflict with another group, changing nothing but the failure time (and creating the group for it)', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 'k' }, '# TYPE kk counter\nkk 1\n');
    const before = await contents(store);
    const outcome = await push(store, 'replace', { job: 'k2' }, '# TYPE kk gauge\nkk 1\n', 5000);
    expect(outcome.status).toBe('invalid');
    expect(outcome.status === 'invalid' && outcome.message).toContain('"kk" is pushed as gauge but is a counter');
    const groups = await store.groups(0);
    expect(groups.find((g) => g.labels.job === 'k2')).toMatchObject({ lastPushMs: 0, lastFailureMs: 5000, families: new Map() });
    expect(((await contents(store)) as Array<{ key: string }>).filter((g) => g.key !== 'instance="",job="k2"')).toEqual(before);
  });

  it('lets a group change the type of a family only it holds', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 'k' }, '# TYPE kk counter\nkk 1\n');
    expect(await push(store, 'merge-families', { job: 'k' }, '# TYPE kk gauge\nkk 2\n')).toEqual({ status: 'applied' });
    expect(await push(store, 'replace', { job: 'k' }, '# TYPE kk histogram\nkk_bucket{le="+Inf"} 1\nkk_sum 1\nkk_count 1\n')).toEqual({
      status: 'applied',
    });
  });

  it('refuses the same series in two groups', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 's' }, 's{foo="1"} 1\n');
    const outcome = await push(store, 'replace', { job: 's', foo: '1' }, 's 1\n');
    expect(outcome.status === 'invalid' && outcome.message).toContain(
      's{foo="1",instance="",job="s"} was collected before with the same name and label values',
    );
  });

  it('refuses the same series twice in one push', async () => {
    const outcome = await push(new MemoryStore(), 'replace', { job: 'g' }, 'mm{a="1"} 1\nmm{a="1"} 2\n');
    expect(outcome.status === 'invalid' && outcome.message).toContain('was collected before');
  });

  it('refuses suffix collisions with a histogram or summary, in the store or in the push', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 'o' }, '# TYPE hi histogram\nhi_bucket{le="+Inf"} 3\nhi_sum 2.5\nhi_count 3\n');
    const outcome = await push(store, 'replace', { job: 'x' }, 'hi_count 1\n');
    expect(outcome.status === 'invalid' && outcome.message).toContain(
      'collected metric named "hi_count" collides with histogram named "hi"',
    );
    const reverse = await push(store, 'replace', { job: 'y' }, '# TYPE hi_bucket summary\nhi_bucket_sum 1\nhi_bucket_count 1\n');
    expect(reverse.status).toBe('invalid');
    // the same group may swap them: PUT removes its own histogram first
    expect(await push(store, 'replace', { job: 'o' }, 'hi_count 1\n')).toEqual({ status: 'applied' });
  });

  it("refuses labels starting with __, timestamps and the gateway's own metric names, recording the failure", async () => {
    const store = new MemoryStore();
    for (const body of ['mm{__x="1"} 1\n', 'x_total 1 1234\n', 'push_time_seconds 1\n', 'gateway_series 1\n']) {
      const outcome = await push(store, 'replace', { job: 'd' }, body, 7000);
      expect(outcome.status).toBe('invalid');
    }
    expect((await store.groups(0))[0]).toMatchObject({ lastPushMs: 0, lastFailureMs: 7000, families: new Map() });
    expect((await store.stats(0)).series).toBe(0);
  });

  it('refuses a push past maxSeries with nothing stored, counting what the push replaces', async () => {
    const store = new MemoryStore({ maxSeries: 3 });
    expect(await push(store, 'replace', { job: 'a' }, 'm{x="1"} 1\nm{x="2"} 1\n')).toEqual({ status: 'applied' });
    expect((await push(store, 'replace', { job: 'b' }, 'm{x="3"} 1\nm{x="4"} 1\n')).status).toBe('too-many-series');
    expect(await push(store, 'replace', { job: 'a' }, 'm{x="1"} 1\nm{x="2"} 1\nm{x="3"} 1\n')).toEqual({ status: 'applied' });
    expect((await store.stats(0)).series).toBe(3);
  });

  it('refuses a push past maxStoredBytes with nothing stored, in every mode, and frees the bytes of what is deleted', async () => {
    const store = new MemoryStore({ maxStoredBytes: 200 });
    const line = (value: string) => `m{v="${value}"} 1\n`;
    expect(await push(store, 'replace', { job: 'a' }, line('x'.repeat(60)))).toEqual({ status: 'applied' });
    const held = (await store.stats(0)).storedBytes!;
    const utf8 = (text: string) => new TextEncoder().encode(text).length;
    expect(held).toBe(utf8(`m{instance="",job="a",v="${'x'.repeat(60)}"} 1\n`) + utf8(groupKey({ job: 'a' })));
    const before = await exposition(store);
    for (const mode of ['replace', 'merge-families', 'aggregate'] as const) {
      const body = mode === 'aggregate' ? `# TYPE c counter\nc{v="${'y'.repeat(150)}"} 1\n` : line('y'.repeat(150));
      const outcome = await push(store, mode, { job: 'b' }, body);
      expect(outcome).toEqual({ status: 'store-full', message: expect.stringContaining('GATEWAY_MAX_STORED_BYTES=200') });
    }
    // Multi-byte text counts in UTF-8 bytes, not UTF-16 units.
    expect((await push(store, 'replace', { job: 'b' }, line('é'.repeat(60)))).status).toBe('store-full');
    expect(await exposition(store)).toBe(before);
    expect((await store.stats(0)).storedBytes).toBe(held);
    // A push that does not grow the store is accepted; deleting the group frees its bytes.
    expect(await push(store, 'replace', { job: 'a' }, line('z'.repeat(60)))).toEqual({ status: 'applied' });
    await store.deleteGroup({ job: 'a' }, 0);
    expect((await store.stats(0)).storedBytes).toBe(0);
    expect(await push(store, 'replace', { job: 'b' }, line('y'.repeat(150)))).toEqual({ status: 'applied' });
  });

  it('records no failure on a new group once the store is full, so refusals cannot grow it', async () => {
    const store = new MemoryStore({ maxStoredBytes: 60 });
    expect(await push(store, 'replace', { job: 'a' }, 'm 1\n')).toEqual({ status: 'applied' });
    const held = (await store.stats(0)).storedBytes!;
    expect((await push(store, 'replace', { job: 'x'.repeat(30) }, 'm{__bad="1"} 1\n')).status).toBe('invalid');
    expect((await store.stats(0)).groups).toBe(1);
    expect((await store.stats(0)).storedBytes).toBe(held);
  });

  it('deletes exactly one group and wipes all', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 'a' }, 'm 1\n');
    await push(store, 'replace', { job: 'a', instance: 'i' }, 'm 1\n');
    expect(await store.deleteGroup({ job: 'a', instance: '' }, 0)).toBe(true);
    expect(await store.deleteGroup({ job: 'a' }, 0)).toBe(false);
    expect((await store.groups(0)).map((g) => g.labels)).toEqual([{ job: 'a', instance: 'i' }]);
    await store.wipe();
    expect(await store.stats(0)).toEqual({
      groups: 0,
      series: 0,
      storedBytes: 0,
      deduplicatedPushes: 0,
      idempotencyKeysEvicted: 0,
      otlpStreamsEvicted: 0,
    });
    expect(await exposition(store)).toBe('');
  });

  it('shows the HELP of the first group (in key order) that has one', async () => {
    const store = new MemoryStore();
    await push(store, 'replace', { job: 'h3' }, 'hh 1\n');
    await push(store, 'replace', { job: 'h2' }, '# HELP hh some help\nhh 1\n');
    await push(store, 'replace', { job: 'h' }, '# HELP hh other help\nhh 1\n');
    expect(await exposition(store)).toContain(
      '# HELP hh other help\n# TYPE hh untyped\nhh{instance="",job="h"} 1\nhh{instance="",job="h2"} 1\nhh{instance="",job="h3"} 1\n',
    );
  });
});

// A random walk over pushes that often conflict (few names, few groups, all types).
const names = ['a', 'b', 'b_sum', 'b_count', 'c_bucket', 'c'];
const types: MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const familyArb: fc.Arbitrary<MetricFamily> = fc
  .record({
    name: fc.constantFrom(...names),
    type: fc.constantFrom(...types),
    help: fc.constantFrom(undefined, 'h1', 'h2'),
    series: fc.uniqueArray(fc.constantFrom('1', '2', '3'), { minLength: 1, maxLength: 2 }),
    job: fc.boolean(),
  })
  .map(({ name, type, help, series, job }) => ({
    name,
    type,
    help,
    metrics: series.map((x) => {
      const labels: Labels = job ? { x, job: 'g1' } : { x };
      if (type === 'histogram')
        return {
          labels,
          buckets: [
            { upperBound: 1, cumulativeCount: 1 },
            { upperBound: Infinity, cumulativeCount: 2 },
          ],
          sum: 1,
          count: 2,
        };
      if (type === 'summary') return { labels, quantiles: [{ quantile: 0.5, value: 1 }], sum: 1, count: 2 };
      return { labels, value: Number(x) };
    }),
  }));
const operationArb = fc.record({
  kind: fc.constantFrom<'replace' | 'merge-families' | 'delete'>('replace', 'merge-families', 'delete'),
  grouping: fc.constantFrom<Labels>({ job: 'g1' }, { job: 'g2' }, { job: 'g1', x: '1' }, { job: 'g2', instance: 'i' }),
  families: fc.uniqueArray(familyArb, { maxLength: 3, selector: (f) => f.name }),
  timestamped: fc.boolean().map((b) => b && Math.random() < 0.1),
});

function invariantViolations(groups: Group[]): string[] {
  const problems: string[] = [];
  const typeByName = new Map<string, MetricType>();
  const seriesSeen = new Set<string>();
  for (const group of groups) {
    for (const family of group.families.values()) {
      const known = typeByName.get(family.name);
      if (known && known !== family.type) problems.push(`${family.name} has types ${known} and ${family.type}`);
      typeByName.set(family.name, family.type);
      for (const metric of family.metrics) {
        const key = family.name + JSON.stringify(Object.entries(metric.labels).sort());
        if (seriesSeen.has(key)) problems.push(`series ${key} twice`);
        seriesSeen.add(key);
      }
    }
  }
  return problems;
}

/** What storedBytes must be, from the rendered text: every sample line (its newline included) plus each group key. */
function storedBytesOf(groups: Group[]): number {
  const sampleLines = renderGroups(groups, 'text')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#') && !/^push_(failure_)?time_seconds\{/.test(line));
  return (
    sampleLines.reduce((n, line) => n + new TextEncoder().encode(line).length + 1, 0) +
    groups.reduce((n, g) => n + new TextEncoder().encode(g.key).length, 0)
  );
}

describe('MemoryStore, properties', () => {
  it('keeps its invariants, renders its cache exactly as renderGroups, and leaves the store unchanged on refusal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operationArb, { minLength: 1, maxLength: 25 }),
        fc.constantFrom(0, 250, 700),
        async (operations, maxStoredBytes) => {
          const store = new MemoryStore({ maxStoredBytes });
          let now = 1;
          for (const op of operations) {
            now += 1000;
            const before = await contents(store);
            if (op.kind === 'delete') {
              await store.deleteGroup(op.grouping, now);
            } else {
              const outcome = await store.apply({
                mode: op.kind,
                grouping: op.grouping,
                families: structuredClone(op.families),
                nowMs: now,
                ...(op.timestamped ? { timestampedSample: { name: 'a', line: 1 } } : {}),
              });
              if (outcome.status !== 'applied') {
                const after = (await contents(store)) as Array<{ key: string; lastPushMs: number; families: Map<string, unknown> }>;
                const beforeKeys = new Set((before as Array<{ key: string }>).map((g) => g.key));
                // A refused push may add an empty group (to carry its failure time), nothing else.
                expect(after.filter((g) => beforeKeys.has(g.key))).toEqual(before);
                for (const added of after.filter((g) => !beforeKeys.has(g.key)))
                  expect([added.lastPushMs, added.families.size]).toEqual([0, 0]);
              }
            }
            const groups = await store.groups(now);
            expect(invariantViolations(groups)).toEqual([]);
            expect(await store.exposition(now, 'text')).toBe(renderGroups(groups, 'text'));
            expect(await store.exposition(now, 'openmetrics')).toBe(renderGroups(groups, 'openmetrics'));
            const stats = await store.stats(now);
            expect(stats.series).toBe(groups.reduce((n, g) => n + [...g.families.values()].reduce((m, f) => m + f.metrics.length, 0), 0));
            expect(stats.storedBytes).toBe(storedBytesOf(groups));
            if (maxStoredBytes > 0) expect(stats.storedBytes).toBeLessThanOrEqual(maxStoredBytes);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('MemoryStore, remembered Idempotency-Keys', () => {
  // Pushes `count` keyed deltas to a job named `job`; returns the encoded snapshot's idempotency part.
  async function rememberedKeysJson(job: string, count: number): Promise<string> {
    const store = new MemoryStore();
    const families = parseTextExposition('# TYPE kept_total counter\nkept_total 1\n').families;
    for (let i = 0; i < count; i++) {
      expect(
        (await store.apply({ mode: 'aggregate', grouping: { job }, families, idempotencyKey: `key-${i}`, nowMs: 1000 + i })).status,
      ).toBe('applied');
    }
    return JSON.stringify(store.snapshot(2000).idempotencyKeys);
  }

  it('keeps the same bytes per key whatever the length of the group labels', async () => {
    const short = await rememberedKeysJson('j', 20);
    const long = await rememberedKeysJson('j'.repeat(15_000), 20);
    expect(long.length).toBe(short.length);
    expect(long).not.toContain('jjjj');
  });
});

describe('MemoryStore, a push of several slices', () => {
  const body = (value: number) => {
    let lines = '# TYPE big gauge\n';
    for (let i = 0; i < 3 * SLICE; i++) lines += `big{i="${i}"} ${value}\n`;
    return lines;
  };

  /** Reads the store at every turn of the event loop while `work` runs; what each read saw. */
  async function readsDuring(store: MemoryStore, nowMs: number, work: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    let done = false;
    const reading = (async () => {
      while (!done) {
        const stats = await store.stats(nowMs);
        seen.push(`${stats.series} series, ${stats.storedBytes} bytes\n${await store.exposition(nowMs, 'text')}`);
        await new Promise((resolve) => setImmediate(resolve)); // the next turn, as a slice's pause (core/slices)
      }
    })();
    await work();
    done = true;
    await reading;
    return seen;
  }

  const state = async (store: MemoryStore, nowMs: number) => {
    const stats = await store.stats(nowMs);
    return `${stats.series} series, ${stats.storedBytes} bytes\n${await store.exposition(nowMs, 'text')}`;
  };

  it('lets reads run meanwhile, and they see the group before or after it, never in between', async () => {
    for (const mode of ['replace', 'aggregate'] as const) {
      const store = new MemoryStore();
      await push(store, mode, { job: 'big' }, body(1), 1000);
      const before = await state(store, 1000);
      const seen = await readsDuring(store, 1000, async () =>
        expect((await push(store, mode, { job: 'big' }, body(2), 1000)).status).toBe('applied'),
      );
      const after = await state(store, 1000);
      expect(after).not.toBe(before);
      expect(seen.length).toBeGreaterThan(2);
      expect(seen.filter((read) => read !== before && read !== after)).toEqual([]);
    }
  });

  it('keeps the group it is committing when a read meanwhile finds it past its TTL', async () => {
    const store = new MemoryStore({ groupTtlMs: 1500 });
    await push(store, 'replace', { job: 'big' }, body(1), 1000);
    await push(store, 'replace', { job: 'small' }, 'small 1\n', 1000);
    // A read at 3000 finds both groups expired while the push (at 2000) re-adds its series to the index (the first
    // is back, the last not yet): the group being pushed must survive it, with its series index whole.
    const owner = (i: number) => store.seriesOwner(seriesKey('big', `i="${i}",instance="",job="big"`));
    const seen: number[] = [];
    let done = false;
    const reading = (async () => {
      while (!done) {
        if (owner(0) !== undefined && owner(3 * SLICE - 1) === undefined) seen.push((await store.groups(3000)).length);
        await new Promise((resolve) => setImmediate(resolve)); // the next turn, as a slice's pause (core/slices)
      }
    })();
    expect((await push(store, 'replace', { job: 'big' }, body(2), 2000)).status).toBe('applied');
    done = true;
    await reading;
    expect(new Set(seen)).toEqual(new Set([1])); // it ran, and kept the group every time
    expect((await store.groups(3000)).map((group) => group.key)).toEqual([groupKey({ job: 'big' })]);
    expect((await store.stats(3000)).series).toBe(3 * SLICE);
    expect(await store.exposition(3000, 'text')).toContain(`big{i="${3 * SLICE - 1}",instance="",job="big"} 2\n`);
    // The same series from another group is still refused: the index knows every series of the pushed group.
    expect((await push(store, 'replace', { job: 'big', i: '0' }, '# TYPE big gauge\nbig 3\n', 3000)).status).toBe('invalid');
    expect(invariantViolations(await store.groups(3000))).toEqual([]);
  });
});
