import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { decodeRequestBody, decodeWriteRequest } from '../../test/support/remote-write-decode.js';
import { parseTextExposition } from '../core/text-parser.js';
import { MemoryStore } from '../store/memory.js';
import { encodeRequestBody, encodeWriteRequest } from './encode.js';
import { encodeSnapshot, samplesOfGroups } from './series.js';

describe('WriteRequest encoding', () => {
  it('writes TimeSeries(labels, samples) that an independent reader decodes to the same values', () => {
    const samples = [
      {
        labels: [
          ['__name__', 'up'],
          ['job', 'a'],
        ] as const,
        value: 1.5,
        timestampMs: 1_700_000_000_123,
      },
      {
        labels: [
          ['__name__', 'x_total'],
          ['le', '+Inf'],
          ['z', 'ü'],
        ] as const,
        value: Number.NaN,
        timestampMs: 0,
      },
    ];
    expect(decodeWriteRequest(encodeWriteRequest(samples))).toEqual([
      {
        labels: [
          ['__name__', 'up'],
          ['job', 'a'],
        ],
        samples: [{ value: 1.5, timestampMs: 1_700_000_000_123 }],
      },
      {
        labels: [
          ['__name__', 'x_total'],
          ['le', '+Inf'],
          ['z', 'ü'],
        ],
        samples: [{ value: Number.NaN, timestampMs: 0 }],
      },
    ]);
  });

  it('matches the protobuf wire format byte for byte for one label and one sample', () => {
    const bytes = encodeWriteRequest([{ labels: [['a', 'b']], value: 1, timestampMs: 2 }]);
    // 0a len (0a 06 (0a 01 'a' 12 01 'b')) (12 0b (09 <double 1> 10 02))
    expect([...bytes]).toEqual([
      0x0a, 0x15, 0x0a, 0x06, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x02,
    ]);
    const reader = new BinaryReader(bytes);
    expect(reader.tag()).toEqual([1, WireType.LengthDelimited]);
  });

  it('keeps every length right for long and non-ASCII strings, large and negative timestamps, many labels', () => {
    const long = 'v'.repeat(300); // a two-byte length, and a label message longer than 127 bytes
    const many = Array.from({ length: 40 }, (_, i) => [`l${String(i).padStart(2, '0')}`, `${i}`] as const);
    const samples = [
      {
        labels: [
          ['__name__', 'a'],
          ['path', long],
        ] as const,
        value: 0.25,
        timestampMs: 2 ** 53 - 1,
      },
      {
        labels: [
          ['__name__', 'b'],
          ['ünï', 'çødé ✓ 𝄞'],
        ] as const,
        value: -1e300,
        timestampMs: 1_796_350_334_006,
      },
      { labels: [['__name__', 'c'], ...many] as const, value: Number.POSITIVE_INFINITY, timestampMs: -5 },
      { labels: [['__name__', 'd']] as const, value: 3, timestampMs: 127 },
      { labels: [['__name__', 'e']] as const, value: 4, timestampMs: 128 },
    ];
    expect(decodeWriteRequest(encodeWriteRequest(samples))).toEqual(
      samples.map((sample) => ({
        labels: sample.labels.map(([name, value]) => [name, value]),
        samples: [{ value: sample.value, timestampMs: sample.timestampMs }],
      })),
    );
  });

  it('compresses with snappy block format (a varint length preamble, no stream identifier)', () => {
    const samples = Array.from({ length: 500 }, (_, i) => ({
      labels: [
        ['__name__', 'requests_total'],
        ['path', `/p/${i % 7}`],
      ] as const,
      value: i,
      timestampMs: 1000,
    }));
    const raw = encodeWriteRequest(samples);
    const body = encodeRequestBody(samples);
    expect(body[0]).not.toBe(0xff); // the framed format starts with the 0xff stream identifier chunk
    const reader = new BinaryReader(body);
    expect(reader.uint32()).toBe(raw.byteLength);
    expect(body.byteLength).toBeLessThan(raw.byteLength / 3);
    expect(decodeRequestBody(body)).toHaveLength(500);
  });
});

describe('samples of the stored groups', () => {
  async function storeWith(pushes: Array<{ grouping: Record<string, string>; body: string }>) {
    const store = new MemoryStore();
    for (const { grouping, body } of pushes) {
      const parsed = parseTextExposition(body);
      expect(await store.apply({ mode: 'aggregate', grouping, families: parsed.families, nowMs: 5_000 })).toEqual({ status: 'applied' });
    }
    return store;
  }

  it('gives what a scrape with honor_labels shows: grouping labels, histogram and summary series, push times, no empty labels', async () => {
    const store = await storeWith([
      {
        grouping: { job: 'api', instance: 'i1' },
        body: '# TYPE req_total counter\nreq_total{Path="/a"} 3\n# TYPE lat histogram\nlat_bucket{le="0.5"} 1\nlat_bucket{le="+Inf"} 2\nlat_sum 0.7\nlat_count 2\n',
      },
      { grouping: { job: 'batch' }, body: '# TYPE temp gauge\ntemp 21.5\n' },
    ]);
    const samples = samplesOfGroups(await store.groups(6_000), 6_000);
    const shown = samples.map((s) => `${s.labels.map(([n, v]) => `${n}=${v}`).join(',')} ${s.value}@${s.timestampMs}`).sort();
    expect(shown).toEqual(
      [
        'Path=/a,__name__=req_total,instance=i1,job=api 3@6000',
        '__name__=lat_bucket,instance=i1,job=api,le=0.5 1@6000',
        '__name__=lat_bucket,instance=i1,job=api,le=+Inf 2@6000',
        '__name__=lat_sum,instance=i1,job=api 0.7@6000',
        '__name__=lat_count,instance=i1,job=api 2@6000',
        '__name__=push_time_seconds,instance=i1,job=api 5@6000',
        '__name__=push_failure_time_seconds,instance=i1,job=api 0@6000',
        '__name__=temp,job=batch 21.5@6000',
        '__name__=push_time_seconds,job=batch 5@6000',
        '__name__=push_failure_time_seconds,job=batch 0@6000',
      ].sort(),
    );
  });

  it('sends the same bytes in order in batches of at most the given size, the last one partial', async () => {
    const store = await storeWith([
      { grouping: { job: 'a' }, body: '# TYPE lat histogram\nlat_bucket{le="1"} 1\nlat_bucket{le="+Inf"} 2\nlat_sum 1\nlat_count 2\n' },
      { grouping: { job: 'b' }, body: '# TYPE g gauge\ng{x="1"} 1\ng{x="2"} 2\n' },
    ]);
    const groups = await store.groups(6_000);
    const batches: Array<{ body: Uint8Array; samples: number }> = [];
    encodeSnapshot(groups, 6_000, 3, (body, samples) => batches.push({ body, samples }));
    expect(batches.map((batch) => batch.samples)).toEqual([3, 3, 3, 1]);
    const samples = samplesOfGroups(groups, 6_000);
    expect(batches.map((batch) => [...batch.body])).toEqual(
      [0, 3, 6, 9].map((start) => [...encodeRequestBody(samples.slice(start, start + 3))]),
    );
  });

  it('writes labels straight from the store as the sorted sample objects say: __name__ and le/quantile merged in place, long and non-ASCII values', async () => {
    const long = 'é'.repeat(200); // a label message and a TimeSeries longer than 127 bytes
    const store = new MemoryStore();
    const parsed = parseTextExposition(
      `# TYPE h histogram\nh_bucket{A="1",_a="2",m="${long}",le="0.25"} 1\nh_bucket{A="1",_a="2",m="${long}",le="+Inf"} 2\nh_sum{A="1",_a="2",m="${long}"} 1\nh_count{A="1",_a="2",m="${long}"} 2\n# TYPE s summary\ns{quantile="0.5",r="x",empty=""} 1\ns_sum{r="x",empty=""} 2\ns_count{r="x",empty=""} 3\n# TYPE up gauge\nup 1\n`,
    );
    const grouping = { job: 'j', Zone: 'ü𝄞' };
    expect(await store.apply({ mode: 'replace', grouping, families: parsed.families, nowMs: 5_000 })).toEqual({ status: 'applied' });
    const groups = await store.groups(6_000);
    const bodies: Uint8Array[] = [];
    encodeSnapshot(groups, 6_000, 1_000, (body) => bodies.push(body));
    const samples = samplesOfGroups(groups, 6_000);
    expect(samples.length).toBeGreaterThan(8);
    expect(bodies.map((body) => [...body])).toEqual([[...encodeRequestBody(samples)]]);
  });

  it('sorts labels by name in byte order, as the spec requires', async () => {
    const store = await storeWith([{ grouping: { job: 'j' }, body: '# TYPE m gauge\nm{b="1",A="2",_x="3"} 1\n' }]);
    const [first] = samplesOfGroups(await store.groups(6_000), 6_000);
    expect(first!.labels.map(([name]) => name)).toEqual(['A', '__name__', '_x', 'b', 'job']);
  });

  it('gives summaries as quantile series plus _sum and _count', async () => {
    const store = new MemoryStore();
    const parsed = parseTextExposition('# TYPE rpc summary\nrpc{quantile="0.5"} 0.2\nrpc{quantile="0.99"} 0.9\nrpc_sum 12\nrpc_count 40\n');
    await store.apply({ mode: 'replace', grouping: { job: 's' }, families: parsed.families, nowMs: 1_000 });
    const names = samplesOfGroups(await store.groups(2_000), 2_000)
      .map((s) => Object.fromEntries(s.labels))
      .filter((l) => l.__name__!.startsWith('rpc'));
    expect(names).toEqual([
      { __name__: 'rpc', job: 's', quantile: '0.5' },
      { __name__: 'rpc', job: 's', quantile: '0.99' },
      { __name__: 'rpc_sum', job: 's' },
      { __name__: 'rpc_count', job: 's' },
    ]);
  });
});

describe('native histograms in remote write', () => {
  it('sends a native histogram as one prompb.Histogram (deltas, spans, zero bucket) under the family name', async () => {
    const store = new MemoryStore();
    const native = {
      schema: 3,
      zeroThreshold: 2 ** -128,
      zeroCount: 2,
      positiveSpans: [
        { offset: -1, length: 2 },
        { offset: 3, length: 1 },
      ],
      positiveCounts: [4, 1, 6],
      negativeSpans: [{ offset: 0, length: 1 }],
      negativeCounts: [3],
    };
    const families = [
      { name: 'lat', help: undefined, type: 'histogram' as const, metrics: [{ labels: {}, buckets: [], sum: 2.5, count: 16, native }] },
    ];
    expect(await store.apply({ mode: 'replace', grouping: { job: 'n' }, families, nowMs: 1_000 })).toEqual({ status: 'applied' });
    const groups = await store.groups(2_000);
    const bodies: Uint8Array[] = [];
    encodeSnapshot(groups, 2_000, 100, (body) => bodies.push(body));
    expect(bodies.map((body) => [...body])).toEqual([[...encodeRequestBody(samplesOfGroups(groups, 2_000))]]);
    const samples = samplesOfGroups(groups, 2_000).filter((s) => s.labels[0]![1] === 'lat');
    const [series] = decodeWriteRequest(encodeWriteRequest(samples));
    expect(series!.labels).toEqual([
      ['__name__', 'lat'],
      ['job', 'n'],
    ]);
    expect(series!.samples).toEqual([]);
    const reader = new BinaryReader(series!.histograms![0]!);
    const fields: Record<number, unknown[]> = {};
    const spans = (bytes: Uint8Array) => {
      const span = new BinaryReader(bytes);
      span.tag();
      const offset = span.sint32();
      span.tag();
      return [offset, span.uint32()];
    };
    const packed = (bytes: Uint8Array) => {
      const p = new BinaryReader(bytes);
      const out: number[] = [];
      while (p.pos < p.len) out.push(Number(p.sint64()));
      return out;
    };
    while (reader.pos < reader.len) {
      const [field, type] = reader.tag();
      const value =
        field === 8 || field === 11
          ? spans(reader.bytes())
          : field === 9 || field === 12
            ? packed(reader.bytes())
            : field === 4
              ? reader.sint32()
              : type === WireType.Bit64
                ? reader.double()
                : Number(reader.uint64());
      (fields[field] ??= []).push(value);
    }
    expect(fields).toEqual({
      1: [16],
      3: [2.5],
      4: [3],
      5: [2 ** -128],
      6: [2],
      8: [[0, 1]],
      9: [[3]],
      11: [
        [-1, 2],
        [3, 1],
      ],
      12: [[4, -3, 5]],
      15: [2_000],
    });
  });
});
