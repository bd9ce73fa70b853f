// Test helper: a small encoder for delimited io.prometheus.client.MetricFamily
// bodies, so tests can build the protobuf pushes Go's client_golang sends.
import type { MetricFamily } from '../../pushgateway/core/model.js';
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
          h.uint(1, metric.count).double(2, metric.sum);
          for (const b of metric.buckets) h.message(3, (bw) => bw.uint(1, b.cumulativeCount).double(2, b.upperBound));
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
