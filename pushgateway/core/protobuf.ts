// Decoder for delimited protobuf bodies (`application/vnd.google.protobuf;
// proto=io.prometheus.client.MetricFamily; encoding=delimited`): a varint length, then one MetricFamily
// message, repeated. Hand-written rather than protobufjs because workerd forbids eval/new Function, which
// protobufjs' generated decoders rely on; the wire format needed here (varints, fixed64 doubles,
// length-delimited submessages, unknown fields skipped) is small. Field numbers follow
// prometheus/client_model metrics.proto.

import type { Bucket, BucketSpan, Labels, Metric, MetricFamily, MetricType, NativeBuckets, Quantile } from './model.js';
import { runInSlices, runToEnd, SLICE, type Sliced } from './slices.js';
import { ExpositionParseError, type ParsedExposition } from './text-parser.js';

const typesByNumber: Record<number, MetricType> = { 0: 'counter', 1: 'gauge', 2: 'summary', 3: 'untyped', 4: 'histogram' };
// ignoreBOM keeps a leading U+FEFF as a character: stripping it would make distinct values collide.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ExpositionParseError('protobuf: truncated varint');
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * multiplier; // arithmetic, not bit ops: values above 2^31 stay exact up to 2^53
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    throw new ExpositionParseError('protobuf: varint longer than 10 bytes');
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ExpositionParseError('protobuf: truncated double');
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** A length-delimited field as a sub-reader. */
  sub(): Reader {
    const length = this.varint();
    if (this.pos + length > this.end) throw new ExpositionParseError('protobuf: length-delimited field runs past its message');
    const reader = new Reader(this.bytes, this.view, this.pos, this.pos + length);
    this.pos += length;
    return reader;
  }

  string(): string {
    const sub = this.sub();
    try {
      return utf8.decode(this.bytes.subarray(sub.pos, sub.end));
    } catch {
      throw new ExpositionParseError('protobuf: string field is not valid UTF-8');
    }
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.advance(8);
    else if (wireType === 2) this.sub();
    else if (wireType === 5) this.advance(4);
    else throw new ExpositionParseError(`protobuf: unsupported wire type ${wireType}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new ExpositionParseError('protobuf: truncated field');
    this.pos += n;
  }

  /** Reads the next tag as [fieldNumber, wireType]. */
  tag(): [number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) throw new ExpositionParseError('protobuf: field number 0');
    return [field, tag % 8];
  }
}

function expectWire(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new ExpositionParseError(`protobuf: ${what} has wire type ${actual}, expected ${expected}`);
}

/** Decodes a whole delimited body. Throws ExpositionParseError (and nothing else) on malformed input. */
export function decodeDelimitedMetricFamilies(body: Uint8Array): ParsedExposition {
  return runToEnd(decodeFamilies(body));
}

/** As decodeDelimitedMetricFamilies, pausing every SLICE metrics (core/slices). */
export function decodeDelimitedMetricFamiliesInSlices(body: Uint8Array): Promise<ParsedExposition> {
  return runInSlices(decodeFamilies(body));
}

function* decodeFamilies(body: Uint8Array): Sliced<ParsedExposition> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const outer = new Reader(body, view, 0, body.length);
  const families: MetricFamily[] = [];
  let timestampedSample: ParsedExposition['timestampedSample'];
  let index = 0;
  while (!outer.done()) {
    index++;
    if (index % SLICE === 0) yield;
    const { family, timestamped } = yield* decodeFamily(outer.sub(), index);
    if (timestamped && !timestampedSample) timestampedSample = { name: family.name, line: index };
    // As the official gateway: a family without metrics declares nothing.
    if (family.metrics.length > 0) families.push(family);
  }
  return timestampedSample ? { families, timestampedSample } : { families };
}

interface RawMetric {
  labels: Labels;
  duplicateLabel?: string;
  timestamped: boolean;
  value: Reader | undefined;
  valueType: MetricType | undefined;
}

function* decodeFamily(reader: Reader, index: number): Sliced<{ family: MetricFamily; timestamped: boolean }> {
  let name = '';
  let help: string | undefined;
  let typeNumber = 0; // proto2 default: COUNTER
  const raw: RawMetric[] = [];
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      expectWire(wire, 2, 'MetricFamily.name');
      name = reader.string();
    } else if (field === 2) {
      expectWire(wire, 2, 'MetricFamily.help');
      help = reader.string();
    } else if (field === 3) {
      expectWire(wire, 0, 'MetricFamily.type');
      typeNumber = reader.varint();
    } else if (field === 4) {
      expectWire(wire, 2, 'MetricFamily.metric');
      raw.push(decodeMetric(reader.sub()));
      if (raw.length % SLICE === 0) yield;
    } else reader.skip(wire);
  }
  const where = name ? `metric family ${JSON.stringify(name)}` : `metric family #${index}`;
  if (name === '') throw new ExpositionParseError(`protobuf: ${where} has no name`);
  const type = typesByNumber[typeNumber];
  if (!type) throw new ExpositionParseError(`protobuf: ${where} has unsupported type ${typeNumber} (gauge histograms are not supported)`);
  const metrics: Metric[] = [];
  let timestamped = false;
  for (const m of raw) {
    if (m.duplicateLabel)
      throw new ExpositionParseError(`protobuf: ${where} has a metric with duplicate label name ${JSON.stringify(m.duplicateLabel)}`);
    if (m.valueType !== type || !m.value)
      throw new ExpositionParseError(`protobuf: ${where} of type ${type} has a metric without a ${type} value`);
    timestamped ||= m.timestamped;
    metrics.push(decodeValue(type, m.labels, m.value, where));
    if (metrics.length % SLICE === 0) yield;
  }
  return { family: { name, help, type, metrics }, timestamped };
}

const valueFields: Record<number, MetricType> = { 2: 'gauge', 3: 'counter', 4: 'summary', 5: 'untyped', 7: 'histogram' };

function decodeMetric(reader: Reader): RawMetric {
  const metric: RawMetric = { labels: {}, timestamped: false, value: undefined, valueType: undefined };
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      expectWire(wire, 2, 'Metric.label');
      const pair = reader.sub();
      let labelName = '';
      let labelValue = '';
      while (!pair.done()) {
        const [f, w] = pair.tag();
        if (f === 1) {
          expectWire(w, 2, 'LabelPair.name');
          labelName = pair.string();
        } else if (f === 2) {
          expectWire(w, 2, 'LabelPair.value');
          labelValue = pair.string();
        } else pair.skip(w);
      }
      // `__proto__` would set a plain object's prototype instead of a label; validation refuses `__` names anyway.
      if (labelName === '__proto__') throw new ExpositionParseError('protobuf: label name "__proto__" is reserved');
      if (Object.hasOwn(metric.labels, labelName)) metric.duplicateLabel ??= labelName;
      metric.labels[labelName] = labelValue;
    } else if (field === 6) {
      expectWire(wire, 0, 'Metric.timestamp_ms');
      reader.varint();
      metric.timestamped = true;
    } else if (valueFields[field]) {
      expectWire(wire, 2, `Metric.${valueFields[field]}`);
      metric.value = reader.sub();
      metric.valueType = valueFields[field];
    } else {
      reader.skip(wire);
    }
  }
  return metric;
}

function decodeValue(type: MetricType, labels: Labels, reader: Reader, where: string): Metric {
  if (type === 'counter' || type === 'gauge' || type === 'untyped') {
    let value = 0;
    while (!reader.done()) {
      const [field, wire] = reader.tag();
      if (field === 1) {
        expectWire(wire, 1, `${type}.value`);
        value = reader.double();
      } else reader.skip(wire);
    }
    return { labels, value };
  }
  if (type === 'summary') {
    let count = 0;
    let sum = 0;
    const quantiles: Quantile[] = [];
    while (!reader.done()) {
      const [field, wire] = reader.tag();
      if (field === 1) {
        expectWire(wire, 0, 'Summary.sample_count');
        count = reader.varint();
      } else if (field === 2) {
        expectWire(wire, 1, 'Summary.sample_sum');
        sum = reader.double();
      } else if (field === 3) {
        expectWire(wire, 2, 'Summary.quantile');
        const q = reader.sub();
        let quantile = 0;
        let value = 0;
        while (!q.done()) {
          const [f, w] = q.tag();
          if (f === 1) {
            expectWire(w, 1, 'Quantile.quantile');
            quantile = q.double();
          } else if (f === 2) {
            expectWire(w, 1, 'Quantile.value');
            value = q.double();
          } else q.skip(w);
        }
        quantiles.push({ quantile, value });
      } else reader.skip(wire);
    }
    quantiles.sort((a, b) => a.quantile - b.quantile);
    return { labels, quantiles, sum, count };
  }
  let count = 0;
  let sum = 0;
  const buckets: Bucket[] = [];
  const native = new NativeFields();
  while (!reader.done()) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      expectWire(wire, 0, 'Histogram.sample_count');
      count = reader.varint();
    } else if (field === 4) {
      expectWire(wire, 1, 'Histogram.sample_count_float');
      count = reader.double();
      native.floatCount = true;
    } else if (field === 2) {
      expectWire(wire, 1, 'Histogram.sample_sum');
      sum = reader.double();
    } else if (field === 3) {
      expectWire(wire, 2, 'Histogram.bucket');
      const b = reader.sub();
      let upperBound = 0;
      let cumulativeCount = 0;
      while (!b.done()) {
        const [f, w] = b.tag();
        if (f === 1) {
          expectWire(w, 0, 'Bucket.cumulative_count');
          cumulativeCount = b.varint();
        } else if (f === 4) {
          expectWire(w, 1, 'Bucket.cumulative_count_float');
          cumulativeCount = b.double();
        } else if (f === 2) {
          expectWire(w, 1, 'Bucket.upper_bound');
          upperBound = b.double();
        } else b.skip(w);
      }
      buckets.push({ upperBound, cumulativeCount });
    } else if (field >= 5 && field <= 14) {
      native.read(reader, field, wire);
    } else reader.skip(wire); // created_timestamp (15) and exemplars (16): not stored
  }
  buckets.sort((a, b) => a.upperBound - b.upperBound);
  for (let i = 0; i < buckets.length; i++) {
    const bound = buckets[i]!.upperBound;
    if (Number.isNaN(bound) || (i > 0 && buckets[i - 1]!.upperBound === bound))
      throw new ExpositionParseError(`protobuf: ${where} has a duplicate or NaN bucket bound`);
  }
  const nativeBuckets = native.present ? native.build(where) : undefined;
  // A histogram that is only native has no classic buckets; a classic one always ends with +Inf.
  if (!nativeBuckets || buckets.length > 0) {
    if (buckets.length === 0 || buckets[buckets.length - 1]!.upperBound !== Infinity)
      buckets.push({ upperBound: Infinity, cumulativeCount: count });
  }
  return nativeBuckets ? { labels, buckets, sum, count, native: nativeBuckets } : { labels, buckets, sum, count };
}

/** sint32/sint64 zigzag, by arithmetic so that values up to 2^53 stay exact. */
function zigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

/**
 * The native-histogram fields of client_model's Histogram (5 schema … 14 positive_count). Integer histograms send
 * bucket counts as deltas from the previous bucket (`*_delta`, sint64), float ones as absolute doubles (`*_count`).
 * Repeated scalars are read packed or not, as protobuf requires of a parser.
 */
class NativeFields {
  present = false;
  floatCount = false;
  private schema = 0;
  private zeroThreshold = 0;
  private zeroCount = 0;
  private zeroCountFloat: number | undefined;
  private readonly spans: Record<'positive' | 'negative', BucketSpan[]> = { positive: [], negative: [] };
  private readonly deltas: Record<'positive' | 'negative', number[]> = { positive: [], negative: [] };
  private readonly floats: Record<'positive' | 'negative', number[]> = { positive: [], negative: [] };

  read(reader: Reader, field: number, wire: number): void {
    this.present = true;
    if (field === 5) {
      expectWire(wire, 0, 'Histogram.schema');
      this.schema = zigzag(reader.varint());
    } else if (field === 6) {
      expectWire(wire, 1, 'Histogram.zero_threshold');
      this.zeroThreshold = reader.double();
    } else if (field === 7) {
      expectWire(wire, 0, 'Histogram.zero_count');
      this.zeroCount = reader.varint();
    } else if (field === 8) {
      expectWire(wire, 1, 'Histogram.zero_count_float');
      this.zeroCountFloat = reader.double();
    } else {
      const side = field <= 11 ? 'negative' : 'positive';
      const kind = (field - 9) % 3; // 0 span, 1 delta, 2 count
      if (kind === 0) {
        expectWire(wire, 2, `Histogram.${side}_span`);
        this.spans[side].push(readSpan(reader.sub()));
      } else if (kind === 1) {
        readRepeated(reader, wire, 0, `Histogram.${side}_delta`, (r) => this.deltas[side].push(zigzag(r.varint())));
      } else {
        readRepeated(reader, wire, 1, `Histogram.${side}_count`, (r) => this.floats[side].push(r.double()));
      }
    }
  }

  build(where: string): NativeBuckets {
    const float = this.floatCount || this.zeroCountFloat !== undefined || this.floats.positive.length + this.floats.negative.length > 0;
    const counts = (side: 'positive' | 'negative'): number[] => {
      if (!float) {
        let running = 0;
        return this.deltas[side].map((delta) => (running += delta));
      }
      if (this.deltas[side].length > 0)
        throw new ExpositionParseError(`protobuf: ${where} is a float native histogram with integer bucket deltas (${side}_delta)`);
      return this.floats[side];
    };
    const native: NativeBuckets = {
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: float ? (this.zeroCountFloat ?? 0) : this.zeroCount,
      positiveSpans: withoutEmptySpans(this.spans.positive),
      positiveCounts: counts('positive'),
      negativeSpans: withoutEmptySpans(this.spans.negative),
      negativeCounts: counts('negative'),
    };
    if (float) native.float = true;
    return native;
  }
}

/** Spans of length 0 (client_golang's no-op span marking an empty native histogram) carried into the next offset. */
function withoutEmptySpans(spans: BucketSpan[]): BucketSpan[] {
  if (spans.every((span) => span.length > 0)) return spans;
  const kept: BucketSpan[] = [];
  let carried = 0;
  for (const span of spans) {
    if (span.length === 0) carried += span.offset;
    else {
      kept.push({ offset: span.offset + carried, length: span.length });
      carried = 0;
    }
  }
  return kept;
}

function readSpan(reader: Reader): BucketSpan {
  let offset = 0;
  let length = 0;
  while (!reader.done()) {
    const [f, w] = reader.tag();
    if (f === 1) {
      expectWire(w, 0, 'BucketSpan.offset');
      offset = zigzag(reader.varint());
    } else if (f === 2) {
      expectWire(w, 0, 'BucketSpan.length');
      length = reader.varint();
    } else reader.skip(w);
  }
  return { offset, length };
}

function readRepeated(reader: Reader, wire: number, elementWire: number, what: string, each: (reader: Reader) => void): void {
  if (wire === 2) {
    const packed = reader.sub();
    while (!packed.done()) each(packed);
  } else {
    expectWire(wire, elementWire, what);
    each(reader);
  }
}
