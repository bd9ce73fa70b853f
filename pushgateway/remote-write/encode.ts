// Prometheus Remote-Write 1.0 request bodies: a protobuf `prometheus.WriteRequest` (prompb/remote.proto,
// types.proto; native histograms as its `Histogram` messages), snappy BLOCK-compressed (not the framed format).
// Written by hand into one growable byte array that a snapshot reuses for every batch: a snapshot of a large
// store then allocates one compressed body per batch and nothing per sample, so the gateway's small young
// generation (see build.ts) is not flooded with short-lived writer chunks while the snapshot runs. snappyjs is a
// pure-JS snappy block compressor (the native `snappy` binding cannot load on workerd).
import { compress } from 'snappyjs';
import type { BucketSpan, NativeBuckets } from '../core/model.js';

/** A native histogram's value at one instant (prompb.Histogram). */
export interface RemoteHistogram {
  count: number;
  sum: number;
  native: NativeBuckets;
}

/**
 * One sample of one series; `labels` are sorted by name and hold no empty values (see series.ts). A native
 * histogram's series carries `histogram` (sent as a prompb.Histogram) and no float `value`.
 */
export interface RemoteSample {
  labels: ReadonlyArray<readonly [name: string, value: string]>;
  value: number;
  timestampMs: number;
  histogram?: RemoteHistogram;
}

// Field numbers of prompb.WriteRequest / TimeSeries / Label / Sample, with their wire types in the tag byte.
const WRITE_REQUEST_TIMESERIES = 1;
const TIMESERIES_LABELS = 1;
const TIMESERIES_SAMPLES = 2;
const TIMESERIES_HISTOGRAMS = 4;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;
const VARINT = 0;
const BIT64 = 1;
const LENGTH_DELIMITED = 2;
const TWO_TO_32 = 4_294_967_296;

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * A WriteRequest under construction. Each nested message reserves one length byte and is moved right in the
 * rare case its length needs more, so no message is built apart and copied in.
 */
export class WriteRequestWriter {
  private bytes = new Uint8Array(64 * 1024);
  private view = new DataView(this.bytes.buffer);
  private position = 0;
  private readonly openMessages: number[] = [];
  /** TimeSeries written since the last `takeBody`. */
  samples = 0;

  /** The request so far as a snappy-compressed body (a new array the caller keeps); the writer starts over. */
  takeBody(): Uint8Array<ArrayBuffer> {
    const body = compress(this.bytes.subarray(0, this.position));
    this.reset();
    return body;
  }

  /** The request so far, uncompressed (a copy); the writer starts over. */
  takeMessage(): Uint8Array<ArrayBuffer> {
    const message = this.bytes.slice(0, this.position);
    this.reset();
    return message;
  }

  beginSeries(): void {
    this.begin(WRITE_REQUEST_TIMESERIES);
  }

  endSeries(): void {
    this.end();
    this.samples++;
  }

  /** A label whose value is `value` followed by `valueSuffix` (a family name and `_bucket`), without joining them. */
  label(name: string, value: string, valueSuffix = ''): void {
    this.begin(TIMESERIES_LABELS);
    this.string(LABEL_NAME, name, '');
    this.string(LABEL_VALUE, value, valueSuffix);
    this.end();
  }

  sample(value: number, timestampMs: number): void {
    this.begin(TIMESERIES_SAMPLES);
    this.tag(SAMPLE_VALUE, BIT64);
    this.double(value);
    this.tag(SAMPLE_TIMESTAMP, VARINT);
    this.int64(timestampMs);
    this.end();
  }

  /**
   * prompb.Histogram (types.proto): count 1|2, sum 3, schema 4, zero_threshold 5, zero_count 6|7, negative spans 8,
   * deltas 9, counts 10, positive spans 11, deltas 12, counts 13, reset_hint 14 (left UNKNOWN: the receiver detects
   * resets, as for a scraped series), timestamp 15.
   */
  histogram(histogram: RemoteHistogram, timestampMs: number): void {
    const { native } = histogram;
    const float = native.float === true;
    this.begin(TIMESERIES_HISTOGRAMS);
    if (float) this.tagDouble(2, histogram.count);
    else this.tagInt64(1, histogram.count);
    this.tagDouble(3, histogram.sum);
    this.tag(4, VARINT);
    this.varint32(zigZag32(native.schema));
    this.tagDouble(5, native.zeroThreshold);
    if (float) this.tagDouble(7, native.zeroCount);
    else this.tagInt64(6, native.zeroCount);
    this.spans(8, native.negativeSpans);
    this.counts(9, 10, native.negativeCounts, float);
    this.spans(11, native.positiveSpans);
    this.counts(12, 13, native.positiveCounts, float);
    this.tagInt64(15, timestampMs);
    this.end();
  }

  private reset(): void {
    this.position = 0;
    this.samples = 0;
  }

  private spans(field: number, spans: readonly BucketSpan[]): void {
    for (const span of spans) {
      this.begin(field);
      this.tag(1, VARINT);
      this.varint32(zigZag32(span.offset));
      this.tag(2, VARINT);
      this.varint32(span.length >>> 0);
      this.end();
    }
  }

  /** Integer counts as deltas from the previous bucket (packed sint64), float ones as packed doubles. */
  private counts(deltaField: number, countField: number, counts: readonly number[], float: boolean): void {
    if (counts.length === 0) return;
    this.begin(float ? countField : deltaField);
    let previous = 0;
    for (const count of counts) {
      if (float) this.double(count);
      else {
        const delta = count - previous;
        this.varint64(delta >= 0 ? delta * 2 : -delta * 2 - 1);
      }
      previous = count;
    }
    this.end();
  }

  private begin(field: number): void {
    this.tag(field, LENGTH_DELIMITED);
    this.reserve(1);
    this.openMessages.push(this.position);
    this.position++;
  }

  private end(): void {
    const lengthAt = this.openMessages.pop()!;
    const length = this.position - lengthAt - 1;
    if (length < 0x80) {
      this.bytes[lengthAt] = length;
      return;
    }
    let size = 1;
    while (length >= 0x80 ** size) size++;
    this.reserve(size - 1);
    this.bytes.copyWithin(lengthAt + size, lengthAt + 1, this.position);
    this.position += size - 1;
    const contentEnd = this.position;
    this.position = lengthAt;
    this.varint32(length);
    this.position = contentEnd;
  }

  private reserve(more: number): void {
    if (this.position + more <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.position + more) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  private tag(field: number, wireType: number): void {
    this.varint32(((field << 3) | wireType) >>> 0);
  }

  private tagDouble(field: number, value: number): void {
    this.tag(field, BIT64);
    this.double(value);
  }

  private tagInt64(field: number, value: number): void {
    this.tag(field, VARINT);
    this.int64(value);
  }

  private double(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.position, value, true);
    this.position += 8;
  }

  private varint32(value: number): void {
    this.reserve(5);
    while (value > 0x7f) {
      this.bytes[this.position++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.bytes[this.position++] = value;
  }

  /** A non-negative integer up to 2^64 as a varint. */
  private varint64(value: number): void {
    if (value < TWO_TO_32) {
      this.varint32(value);
      return;
    }
    this.varint64Parts(value >>> 0, Math.floor(value / TWO_TO_32) >>> 0);
  }

  /** int64 as protobuf writes it: a negative value as its 64-bit two's complement (ten bytes). */
  private int64(value: number): void {
    if (value >= 0) this.varint64(value);
    else this.varint64Parts(value >>> 0, Math.floor(value / TWO_TO_32) >>> 0);
  }

  private varint64Parts(low: number, high: number): void {
    this.reserve(10);
    while (high > 0 || low > 0x7f) {
      this.bytes[this.position++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.bytes[this.position++] = low;
  }

  /** Written like a nested message (length fixed up after): no separate pass to count UTF-8 bytes. */
  private string(field: number, text: string, suffix: string): void {
    this.begin(field);
    this.reserve(3 * (text.length + suffix.length));
    this.utf8(text);
    this.utf8(suffix);
    this.end();
  }

  private utf8(text: string): void {
    const bytes = this.bytes;
    let at = this.position;
    for (let index = 0; index < text.length; index++) {
      let code = text.charCodeAt(index);
      if (code < 0x80) {
        bytes[at++] = code;
        continue;
      }
      if (code < 0x800) {
        bytes[at++] = 0xc0 | (code >> 6);
        bytes[at++] = 0x80 | (code & 0x3f);
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = text.charCodeAt(index + 1);
        if (code <= 0xdbff && isLowSurrogate(next)) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          index++;
          bytes[at++] = 0xf0 | (code >> 18);
          bytes[at++] = 0x80 | ((code >> 12) & 0x3f);
          bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
          bytes[at++] = 0x80 | (code & 0x3f);
          continue;
        }
        code = 0xfffd;
      }
      bytes[at++] = 0xe0 | (code >> 12);
      bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[at++] = 0x80 | (code & 0x3f);
    }
    this.position = at;
  }
}

function zigZag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function writeSample(writer: WriteRequestWriter, sample: RemoteSample): void {
  writer.beginSeries();
  for (const [name, value] of sample.labels) writer.label(name, value);
  if (sample.histogram) writer.histogram(sample.histogram, sample.timestampMs);
  else writer.sample(sample.value, sample.timestampMs);
  writer.endSeries();
}

/** The uncompressed protobuf WriteRequest: one TimeSeries with one Sample per entry. */
export function encodeWriteRequest(samples: readonly RemoteSample[]): Uint8Array<ArrayBuffer> {
  const writer = new WriteRequestWriter();
  for (const sample of samples) writeSample(writer, sample);
  return writer.takeMessage();
}

/** The HTTP body of one remote-write request. */
export function encodeRequestBody(samples: readonly RemoteSample[]): Uint8Array<ArrayBuffer> {
  const writer = new WriteRequestWriter();
  for (const sample of samples) writeSample(writer, sample);
  return writer.takeBody();
}

export const remoteWriteHeaders = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;
