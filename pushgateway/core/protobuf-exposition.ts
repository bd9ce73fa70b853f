// The delimited protobuf scrape format (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited`): what Prometheus asks for first when native histograms are enabled, and what the official
// gateway serves through expfmt.Negotiate. Encoded with @bufbuild/protobuf's BinaryWriter: a maintained wire
// encoder that needs no generated code and no eval (workerd forbids it), so the same code runs on Node and
// Workers. Field numbers follow prometheus/client_model metrics.proto.
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { type BucketSpan, isHistogram, isSummary, type Metric, type MetricFamily, type MetricType, type NativeBuckets } from './model.js';

export const protobufContentType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const typeNumbers: Record<MetricType, number> = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 };
const valueField: Record<'counter' | 'gauge' | 'untyped', number> = { gauge: 2, counter: 3, untyped: 5 };

/** A count as uint64 when it is one (what every client sends), else in the `_float` field beside it. */
function writeCount(writer: BinaryWriter, value: number, integerField: number, floatField: number): void {
  if (Number.isSafeInteger(value) && value >= 0) writer.tag(integerField, WireType.Varint).uint64(value);
  else writer.tag(floatField, WireType.Bit64).double(value);
}

/** Native histogram spans (client_model BucketSpan, prompb BucketSpan: the same two fields). */
export function writeSpans(writer: BinaryWriter, field: number, spans: readonly BucketSpan[]): void {
  for (const span of spans)
    writer
      .tag(field, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.Varint)
      .sint32(span.offset)
      .tag(2, WireType.Varint)
      .uint32(span.length)
      .join();
}

/** Integer bucket counts go out as deltas from the previous bucket (sint64), float ones as absolute doubles. */
function writeBucketCounts(writer: BinaryWriter, deltaField: number, countField: number, counts: readonly number[], float: boolean): void {
  if (counts.length === 0) return;
  if (float) {
    writer.tag(countField, WireType.LengthDelimited).fork();
    for (const count of counts) writer.double(count);
  } else {
    writer.tag(deltaField, WireType.LengthDelimited).fork();
    let previous = 0;
    for (const count of counts) {
      writer.sint64(count - previous);
      previous = count;
    }
  }
  writer.join();
}

/** The native-histogram fields of client_model's Histogram (5 … 14). */
function writeNative(writer: BinaryWriter, native: NativeBuckets): void {
  const float = native.float === true;
  writer.tag(5, WireType.Varint).sint32(native.schema);
  writer.tag(6, WireType.Bit64).double(native.zeroThreshold);
  if (float) writer.tag(8, WireType.Bit64).double(native.zeroCount);
  else writer.tag(7, WireType.Varint).uint64(native.zeroCount);
  writeSpans(writer, 9, native.negativeSpans);
  writeBucketCounts(writer, 10, 11, native.negativeCounts, float);
  // A histogram without spans and observations would read as classic: a no-op span marks it native, as
  // client_golang does.
  const empty = native.positiveSpans.length + native.negativeSpans.length === 0 && native.zeroCount === 0;
  writeSpans(writer, 12, empty ? [{ offset: 0, length: 0 }] : native.positiveSpans);
  writeBucketCounts(writer, 13, 14, native.positiveCounts, float);
}

function writeMetric(writer: BinaryWriter, type: MetricType, metric: Metric): void {
  for (const name of Object.keys(metric.labels).sort()) {
    writer
      .tag(1, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string(name)
      .tag(2, WireType.LengthDelimited)
      .string(metric.labels[name]!)
      .join();
  }
  if (isHistogram(metric)) {
    writer.tag(7, WireType.LengthDelimited).fork();
    if (metric.native?.float) writer.tag(4, WireType.Bit64).double(metric.count);
    else writeCount(writer, metric.count, 1, 4);
    writer.tag(2, WireType.Bit64).double(metric.sum);
    for (const bucket of metric.buckets) {
      writer.tag(3, WireType.LengthDelimited).fork();
      writeCount(writer, bucket.cumulativeCount, 1, 4);
      writer.tag(2, WireType.Bit64).double(bucket.upperBound).join();
    }
    if (metric.native) writeNative(writer, metric.native);
    writer.join();
  } else if (isSummary(metric)) {
    writer.tag(4, WireType.LengthDelimited).fork();
    writeCount(writer, metric.count, 1, 4);
    writer.tag(2, WireType.Bit64).double(metric.sum);
    for (const q of metric.quantiles)
      writer
        .tag(3, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.Bit64)
        .double(q.quantile)
        .tag(2, WireType.Bit64)
        .double(q.value)
        .join();
    writer.join();
  } else {
    const field = type === 'counter' || type === 'gauge' ? valueField[type] : valueField.untyped;
    writer.tag(field, WireType.LengthDelimited).fork().tag(1, WireType.Bit64).double(metric.value).join();
  }
}

/** One MetricFamily message. */
export function encodeMetricFamily(family: Pick<MetricFamily, 'name' | 'help' | 'type' | 'metrics'>): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.LengthDelimited).string(family.name);
  if (family.help !== undefined) writer.tag(2, WireType.LengthDelimited).string(family.help);
  writer.tag(3, WireType.Varint).int32(typeNumbers[family.type]);
  for (const metric of family.metrics) {
    writer.tag(4, WireType.LengthDelimited).fork();
    writeMetric(writer, family.type, metric);
    writer.join();
  }
  return writer.finish();
}

/** The families as one delimited body: each message preceded by its varint length. */
export function encodeDelimitedFamilies(
  families: readonly Pick<MetricFamily, 'name' | 'help' | 'type' | 'metrics'>[],
): Uint8Array<ArrayBuffer> {
  const writer = new BinaryWriter();
  for (const family of families) writer.bytes(encodeMetricFamily(family));
  return writer.finish();
}
