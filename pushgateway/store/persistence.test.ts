import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeFamilyArb } from '../../test/support/exposition-arbitraries.js';
import { groupKey } from '../core/grouping.js';
import type { Group, MetricFamily } from '../core/model.js';
import { parseTextExposition } from '../core/text-parser.js';
import { MemoryStore } from './memory.js';
import { loadSnapshot, startSnapshotting } from './persistence.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotSource, type StoreSnapshot } from './snapshot-codec.js';

const keyOf = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());

function sampleSnapshot(): StoreSnapshot {
  const families = new Map<string, MetricFamily>([
    [
      'c_total',
      { name: 'c_total', help: 'Things.', type: 'counter', metrics: [{ labels: { job: 'a', instance: '', code: 'NaN' }, value: 12.5 }] },
    ],
    [
      'g',
      {
        name: 'g',
        help: undefined,
        type: 'gauge',
        metrics: [
          { labels: { job: 'a', instance: '' }, value: Number.NaN },
          { labels: { job: 'a', instance: '', x: '1' }, value: -Infinity },
        ],
      },
    ],
    [
      'h',
      {
        name: 'h',
        help: 'Latency.',
        type: 'histogram',
        metrics: [
          {
            labels: { job: 'a', instance: '' },
            buckets: [
              { upperBound: 0.5, cumulativeCount: 1 },
              { upperBound: Infinity, cumulativeCount: 3 },
            ],
            sum: 2.25,
            count: 3,
          },
        ],
      },
    ],
    [
      's',
      {
        name: 's',
        help: undefined,
        type: 'summary',
        metrics: [{ labels: { job: 'a', instance: '' }, quantiles: [{ quantile: 0.5, value: 1 }], sum: 4, count: 2 }],
      },
    ],
  ]);
  const group: Group = {
    key: keyOf({ job: 'a', instance: '' }),
    labels: { job: 'a', instance: '' },
    families,
    lastPushMs: 1_700_000_000_000,
    lastFailureMs: 0,
    writeMode: 'aggregated',
    deduplicatedRetries: 3,
  };
  return {
    groups: [group],
    idempotencyKeys: [{ key: 'k1', appliedMs: 1_700_000_000_000 }],
    deltaWindows: [
      {
        stream: 'AAAAAAAAAAAAAAAAAAAAAA',
        appliedMs: 1_700_000_000_000,
        startNs: 1_700_000_000_000_000_000n,
        endNs: 1_700_000_010_000_000_000n,
      },
    ],
    deduplicatedPushes: 7,
  };
}

describe('snapshot encoding', () => {
  it('round-trips groups, non-finite numbers, label values that look like numbers, keys and counters', () => {
    const snapshot = sampleSnapshot();
    const decoded = decodeSnapshot(encodeSnapshot(snapshot, 1), keyOf);
    expect(decoded).toEqual(snapshot);
  });

  it.each([
    ['not JSON', '{"format":', /not JSON/],
    ['another file', '{"hello":1}', /not a hono-edge-metrics\/pushgateway-snapshot file/],
    [
      'a future version',
      JSON.stringify({ format: 'hono-edge-metrics/pushgateway-snapshot', version: 99 }),
      /unsupported snapshot version 99/,
    ],
    ['a bad number', encodeSnapshot(sampleSnapshot(), 1).replace('12.5', '"twelve"'), /expected a number/],
    ['a bad type', encodeSnapshot(sampleSnapshot(), 1).replace('"gauge"', '"meter"'), /malformed family/],
    ['an unknown write mode', encodeSnapshot(sampleSnapshot(), 1).replace('"aggregated"', '"summed"'), /unknown writeMode "summed"/],
    ['a negative retry count', encodeSnapshot(sampleSnapshot(), 1).replace('"deduplicatedRetries":3', '"deduplicatedRetries":-1'), /count/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => decodeSnapshot(text, keyOf)).toThrow(message);
  });

  it('loads a snapshot written before groups recorded their write mode and retries', () => {
    const old = JSON.parse(encodeSnapshot(sampleSnapshot(), 1)) as { groups: Record<string, unknown>[] };
    for (const group of old.groups) {
      delete group.writeMode;
      delete group.deduplicatedRetries;
    }
    const [group] = decodeSnapshot(JSON.stringify(old), keyOf).groups;
    expect(group?.writeMode).toBeUndefined();
    expect(group?.deduplicatedRetries).toBe(0);
    expect(group?.families).toEqual(sampleSnapshot().groups[0]!.families);
  });
});

describe('snapshot encoding of native histograms', () => {
  const withNative = (family: MetricFamily): StoreSnapshot => ({
    groups: [
      {
        key: keyOf({ job: 'a', instance: '' }),
        labels: { job: 'a', instance: '' },
        families: new Map([[family.name, family]]),
        lastPushMs: 1,
        lastFailureMs: 0,
        deduplicatedRetries: 0,
      },
    ],
    idempotencyKeys: [],
    deltaWindows: [],
    deduplicatedPushes: 0,
  });

  it('round-trips native buckets, integer and float, with or without classic buckets', () => {
    fc.assert(
      fc.property(nativeFamilyArb, (family) => {
        const snapshot = withNative(family);
        expect(decodeSnapshot(encodeSnapshot(snapshot, 1), keyOf).groups).toEqual(snapshot.groups);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a snapshot whose native buckets are inconsistent', () => {
    const family: MetricFamily = {
      name: 'n',
      help: undefined,
      type: 'histogram',
      metrics: [
        {
          labels: { job: 'a', instance: '' },
          buckets: [],
          sum: 1,
          count: 2,
          native: {
            schema: 0,
            zeroThreshold: 0,
            zeroCount: 0,
            positiveSpans: [{ offset: 0, length: 1 }],
            positiveCounts: [2],
            negativeSpans: [],
            negativeCounts: [],
          },
        },
      ],
    };
    const text = encodeSnapshot(withNative(family), 1).replace('"positiveCounts":[2]', '"positiveCounts":[2,3]');
    expect(() => decodeSnapshot(text, keyOf)).toThrow(/positive spans cover 1 buckets but 2 bucket counts/);
  });
});

describe('snapshot files', () => {
  let dir: string;
  let file: string;
  const log = {
    lines: [] as string[],
    info(m: string) {
      this.lines.push(m);
    },
    error(m: string) {
      this.lines.push(m);
    },
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-persist-'));
    file = join(dir, 'gateway.snapshot');
    log.lines = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes temp files a process killed mid-write left behind, and nothing else', async () => {
    writeFileSync(`${file}.tmp-4242`, '{"half":');
    writeFileSync(join(dir, 'other.tmp-1'), 'kept');
    expect(await loadSnapshot(file, keyOf)).toEqual({ status: 'missing' });
    expect(readdirSync(dir).sort()).toEqual(['other.tmp-1']);
  });

  it('reports a missing file as missing', async () => {
    expect(await loadSnapshot(file, keyOf)).toEqual({ status: 'missing' });
  });

  it('moves a corrupt file aside and says why', async () => {
    writeFileSync(file, 'garbage');
    const result = await loadSnapshot(file, keyOf, Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(result).toEqual({
      status: 'corrupt',
      reason: expect.stringContaining('not JSON'),
      movedTo: `${file}.corrupt-2026-01-02T03-04-05-000Z`,
    });
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(`${file}.corrupt-2026-01-02T03-04-05-000Z`, 'utf8')).toBe('garbage');
  });

  it('writes on flush and on stop, atomically, leaving no temp file', async () => {
    let current = sampleSnapshot();
    const source: SnapshotSource = { snapshot: () => current, restore: () => {} };
    const snapshotter = startSnapshotting({ file, intervalMs: 60_000, source, log });
    await snapshotter.flush();
    expect(await loadSnapshot(file, keyOf)).toEqual({ status: 'loaded', snapshot: current });
    current = { ...current, deduplicatedPushes: 8 };
    await snapshotter.stop();
    const loaded = await loadSnapshot(file, keyOf);
    expect(loaded.status === 'loaded' && loaded.snapshot.deduplicatedPushes).toBe(8);
    expect(snapshotter.stats.written).toBe(2);
    expect(readdirSync(dir)).toEqual(['gateway.snapshot']);
  });

  it('converts the raw Idempotency-Keys of a snapshot written before keys were digested, so retries stay replays', async () => {
    const families = parseTextExposition('# TYPE done_total counter\ndone_total 1\n').families;
    const keyed = { mode: 'aggregate', grouping: { job: 'agg' }, families, idempotencyKey: 'retry-1', nowMs: 1_000 } as const;
    const before = new MemoryStore();
    expect((await before.apply(keyed)).status).toBe('applied');
    const current = before.snapshot(1_000);
    // The same store as an older gateway wrote it: the key as `group \u0002 key`, not its digest.
    const old = {
      ...current,
      idempotencyKeys: current.idempotencyKeys.map((k) => ({ ...k, key: `${groupKey({ job: 'agg' })}\u0002retry-1` })),
    };
    writeFileSync(file, encodeSnapshot(old, 1_000));

    const loaded = await loadSnapshot(file, groupKey);
    if (loaded.status !== 'loaded') throw new Error(`not loaded: ${loaded.status}`);
    expect(loaded.snapshot.idempotencyKeys.map((k) => k.key)).toEqual(current.idempotencyKeys.map((k) => k.key));
    const after = new MemoryStore();
    after.restore(loaded.snapshot);
    expect((await after.apply({ ...keyed, nowMs: 2_000 })).status).toBe('replayed');
  });

  it("restores each group's write mode and deduplicated retries after a restart from the file", async () => {
    const before = new MemoryStore();
    const families = parseTextExposition('# TYPE done_total counter\ndone_total 1\n').families;
    const keyed = { mode: 'aggregate', grouping: { job: 'agg' }, families, idempotencyKey: 'k', nowMs: 1_000 } as const;
    expect((await before.apply(keyed)).status).toBe('applied');
    expect((await before.apply(keyed)).status).toBe('replayed');
    expect((await before.apply({ mode: 'replace', grouping: { job: 'put' }, families, nowMs: 1_000 })).status).toBe('applied');
    const timestamped = { name: 'done_total', line: 1 };
    expect(
      (await before.apply({ mode: 'replace', grouping: { job: 'bad' }, families, timestampedSample: timestamped, nowMs: 1_000 })).status,
    ).toBe('invalid');
    const snapshotter = startSnapshotting({ file, intervalMs: 60_000, source: before, log, clock: () => 2_000 });
    await snapshotter.stop();

    const loaded = await loadSnapshot(file, groupKey);
    if (loaded.status !== 'loaded') throw new Error(`not loaded: ${loaded.status}`);
    const after = new MemoryStore();
    after.restore(loaded.snapshot);
    const facts = Object.fromEntries(
      (await after.groups(2_000)).map((group) => [group.labels.job, [group.writeMode, group.deduplicatedRetries]]),
    );
    expect(facts).toEqual({ agg: ['aggregated', 1], put: ['replaced', 0], bad: [undefined, 0] });
    // The restored group goes on counting.
    expect((await after.apply(keyed)).status).toBe('replayed');
    expect(after.group(groupKey({ job: 'agg' }), 2_000)?.deduplicatedRetries).toBe(2);
  });

  it('writes on its interval', async () => {
    const source: SnapshotSource = { snapshot: sampleSnapshot, restore: () => {} };
    const snapshotter = startSnapshotting({ file, intervalMs: 20, source, log });
    await expect.poll(() => snapshotter.stats.written, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    await snapshotter.stop();
  });

  it('keeps the previous snapshot and logs when a write fails', async () => {
    const source: SnapshotSource = { snapshot: sampleSnapshot, restore: () => {} };
    const snapshotter = startSnapshotting({ file, intervalMs: 60_000, source, log });
    await snapshotter.flush();
    const before = readFileSync(file, 'utf8');
    if (process.getuid?.() === 0) {
      // root ignores directory permissions: make the temp path a directory so the open fails instead.
      const { mkdirSync } = await import('node:fs');
      mkdirSync(`${file}.tmp-${process.pid}`);
    } else {
      chmodSync(dir, 0o500);
    }
    await snapshotter.stop();
    chmodSync(dir, 0o700);
    expect(snapshotter.stats.failed).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(log.lines.join('\n')).toMatch(/writing .* failed, the previous snapshot stays/);
  });
});
