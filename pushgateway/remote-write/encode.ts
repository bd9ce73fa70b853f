// Prometheus Remote-Write 1.0 request bodies: a protobuf `prometheus.WriteRequest` (prompb/remote.proto,
// types.proto; native histograms as its `Histogram` messages), snappy BLOCK-compressed (not the framed format). Written with @bufbuild/protobuf's
// BinaryWriter rather than generated code: the message is three nested types, and BinaryWriter is
// a well-kept, dependency-free encoder that runs on workerd (no eval, no Node APIs). snappyjs is a pure-JS
// snappy block compressor for the same reason (the native `snappy` binding cannot load on workerd).
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { compress } from 'snappyjs';
import type { NativeBuckets } from '../core/model.js';
import { writeSpans } from '../core/protobuf-exposition.js';

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

// Field numbers of prompb.WriteRequest / TimeSeries / Label / Sample.
const WRITE_REQUEST_TIMESERIES = 1;
const TIMESERIES_LABELS = 1;
const TIMESERIES_SAMPLES = 2;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;
const TIMESERIES_HISTOGRAMS = 4;

/** Integer counts as deltas from the previous bucket (packed sint64), float ones as packed doubles. */
function writeCounts(writer: BinaryWriter, deltaField: number, countField: number, counts: readonly number[], float: boolean): void {
  if (counts.length === 0) return;
  writer.tag(float ? countField : deltaField, WireType.LengthDelimited).fork();
  let previous = 0;
  for (const count of counts) {
    if (float) writer.double(count);
    else writer.sint64(count - previous);
    previous = count;
  }
  writer.join();
}

/**
 * prompb.Histogram (types.proto): count 1|2, sum 3, schema 4, zero_threshold 5, zero_count 6|7, negative spans 8,
 * deltas 9, counts 10, positive spans 11, deltas 12, counts 13, reset_hint 14 (left UNKNOWN: the receiver detects
 * resets, as for a scraped series), timestamp 15.
 */
function writeHistogram(writer: BinaryWriter, histogram: RemoteHistogram, timestampMs: number): void {
  const { native } = histogram;
  const float = native.float === true;
  writer.tag(TIMESERIES_HISTOGRAMS, WireType.LengthDelimited).fork();
  if (float) writer.tag(2, WireType.Bit64).double(histogram.count);
  else writer.tag(1, WireType.Varint).uint64(histogram.count);
  writer.tag(3, WireType.Bit64).double(histogram.sum);
  writer.tag(4, WireType.Varint).sint32(native.schema);
  writer.tag(5, WireType.Bit64).double(native.zeroThreshold);
  if (float) writer.tag(7, WireType.Bit64).double(native.zeroCount);
  else writer.tag(6, WireType.Varint).uint64(native.zeroCount);
  writeSpans(writer, 8, native.negativeSpans);
  writeCounts(writer, 9, 10, native.negativeCounts, float);
  writeSpans(writer, 11, native.positiveSpans);
  writeCounts(writer, 12, 13, native.positiveCounts, float);
  writer.tag(15, WireType.Varint).int64(timestampMs);
  writer.join();
}

/** The uncompressed protobuf WriteRequest: one TimeSeries with one Sample per entry. */
export function encodeWriteRequest(samples: readonly RemoteSample[]): Uint8Array<ArrayBuffer> {
  const writer = new BinaryWriter();
  for (const sample of samples) {
    writer.tag(WRITE_REQUEST_TIMESERIES, WireType.LengthDelimited).fork();
    for (const [name, value] of sample.labels) {
      writer.tag(TIMESERIES_LABELS, WireType.LengthDelimited).fork();
      writer.tag(LABEL_NAME, WireType.LengthDelimited).string(name);
      writer.tag(LABEL_VALUE, WireType.LengthDelimited).string(value);
      writer.join();
    }
    if (sample.histogram) writeHistogram(writer, sample.histogram, sample.timestampMs);
    else {
      writer.tag(TIMESERIES_SAMPLES, WireType.LengthDelimited).fork();
      writer.tag(SAMPLE_VALUE, WireType.Bit64).double(sample.value);
      writer.tag(SAMPLE_TIMESTAMP, WireType.Varint).int64(sample.timestampMs);
      writer.join();
    }
    writer.join();
  }
  return writer.finish();
}

/** The HTTP body of one remote-write request. */
export function encodeRequestBody(samples: readonly RemoteSample[]): Uint8Array<ArrayBuffer> {
  return compress(encodeWriteRequest(samples));
}

export const remoteWriteHeaders = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;
