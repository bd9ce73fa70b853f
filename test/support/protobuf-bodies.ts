// Test helper: a small encoder for delimited io.prometheus.client.MetricFamily
// bodies, so tests can build the protobuf pushes Go's client_golang sends.
import type { MetricFamily, NativeBuckets } from '../../pushgateway/core/model.js';
import { isHistogram, isSummary } from '../../pushgateway/core/model.js';

class Writer {
  private readonly bytes: number[] = [];
  varint(value: number): this {
    let v = value;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  double(field: number, value: number): this {
    const buffer = new ArrayBuffer(8);
    new DataView(buffer).setFloat64(0, value, true);
    this.tag(field, 1);
    this.bytes.push(...new Uint8Array(buffer));
    return this;
  }
  uint(field: number, value: number): this {
    return this.tag(field, 0).varint(value);
  }
  bytesField(field: number, content: Uint8Array): this {
    this.tag(field, 2).varint(content.length);
    this.bytes.push(...content);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytesField(field, inner.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const typeNumbers = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;
const valueField = { gauge: 2, counter: 3, untyped: 5 } as const;

export interface EncodeOptions {
  /** Adds timestamp_ms to every metric. */
  timestampMs?: number;
  /** Native-histogram deltas and counts one field each instead of packed (both are valid protobuf). */
  unpacked?: boolean;
  /** Writes a float histogram's bucket counts as integer deltas: a malformed mix, for refusal tests. */
  floatAsDeltas?: boolean;
}

const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);

/** client_model's native fields: spans, then integer deltas (sint64) or float counts (double). */
function writeNative(h: Writer, native: NativeBuckets, options: EncodeOptions): void {
  const unpacked = options.unpacked === true;
  h.uint(5, zigzag(native.schema)).double(6, native.zeroThreshold);
  if (native.float) h.double(8, native.zeroCount);
  else h.uint(7, native.zeroCount);
  const side = (spanField: number, spans: NativeBuckets['positiveSpans'], counts: number[]) => {
    for (const span of spans) h.message(spanField, (sw) => sw.uint(1, zigzag(span.offset)).uint(2, span.length));
    if (counts.length === 0) return;
    let previous = 0;
    const values = counts.map((count) => {
      const delta = count - previous;
      previous = count;
      return delta;
    });
    if (native.float && !options.floatAsDeltas) {
      if (unpacked) for (const count of counts) h.double(spanField + 2, count);
      else
        h.bytesField(
          spanField + 2,
          new Uint8Array(Float64Array.from(counts).buffer), // little-endian hosts, as every test machine here
        );
    } else if (unpacked) for (const delta of values) h.uint(spanField + 1, zigzag(delta));
    else
      h.message(spanField + 1, (p) => {
        for (const delta of values) p.varint(zigzag(delta));
      });
  };
  side(9, native.negativeSpans, native.negativeCounts);
  side(12, native.positiveSpans, native.positiveCounts);
}

export function encodeMetricFamily(family: MetricFamily, options: EncodeOptions = {}): Uint8Array {
  const w = new Writer();
  w.string(1, family.name);
  if (family.help !== undefined) w.string(2, family.help);
  w.uint(3, typeNumbers[family.type]);
  for (const metric of family.metrics) {
    w.message(4, (m) => {
      for (const [name, value] of Object.entries(metric.labels)) m.message(1, (l) => l.string(1, name).string(2, value));
      if (isHistogram(metric)) {
        m.message(7, (h) => {
          if (metric.native?.float) h.double(4, metric.count);
          else h.uint(1, metric.count);
          h.double(2, metric.sum);
          for (const b of metric.buckets) h.message(3, (bw) => bw.uint(1, b.cumulativeCount).double(2, b.upperBound));
          if (metric.native) writeNative(h, metric.native, options);
        });
      } else if (isSummary(metric)) {
        m.message(4, (s) => {
          s.uint(1, metric.count).double(2, metric.sum);
          for (const q of metric.quantiles) s.message(3, (qw) => qw.double(1, q.quantile).double(2, q.value));
        });
      } else {
        const field = valueField[family.type as keyof typeof valueField];
        m.message(field, (v) => v.double(1, metric.value));
      }
      if (options.timestampMs !== undefined) m.uint(6, options.timestampMs);
    });
  }
  return w.finish();
}

/** Concatenates families as a delimited body (varint length before each message). */
export function encodeDelimited(families: MetricFamily[], options: EncodeOptions = {}): Uint8Array {
  const parts: number[] = [];
  for (const family of families) {
    const message = encodeMetricFamily(family, options);
    let length = message.length;
    while (length >= 0x80) {
      parts.push((length % 0x80) | 0x80);
      length = Math.floor(length / 0x80);
    }
    parts.push(length, ...message);
  }
  return Uint8Array.from(parts);
}
