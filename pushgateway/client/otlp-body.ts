// Push bodies as OTLP/HTTP protobuf: one ExportMetricsServiceRequest whose resource names the group
// (service.name → job, service.instance.id → instance on the gateway). Counters become monotonic DELTA sums and
// histograms DELTA histograms, every point stamped with the interval its delta covers — the gateway's POST
// /v1/metrics judges a retry by that interval, as it does for an OpenTelemetry SDK. Gauges become gauges. No
// instrumentation scope: its name would become an `otel_scope_name` label on every series, and the API's metric
// names must stay what its PromQL expects.
//
// Encoded with @bufbuild/protobuf over the generated code in pushgateway/proto (the gateway decodes with the same),
// which builds no code at run time, so it runs on workerd. Sizes are computed from the wire format with every
// length prefix of a growing message counted at its widest (5 bytes): an upper bound, so a body never passes the
// pusher's byte bound.
import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { utf8ByteLength } from '../core/validate.js';
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from '../proto/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { KeyValueSchema } from '../proto/opentelemetry/proto/common/v1/common_pb.js';
import {
  AggregationTemporality,
  type HistogramDataPointSchema,
  type MetricSchema,
  type NumberDataPointSchema,
} from '../proto/opentelemetry/proto/metrics/v1/metrics_pb.js';
import type { BodyWriter, DeltaInterval, FamilyHeader, SeriesValue } from './body-writer.js';
import type { HistogramSeries } from './snapshot.js';

export const OTLP_PROTOBUF = 'application/x-protobuf';

type MetricInit = MessageInitShape<typeof MetricSchema>;
type KeyValueInit = MessageInitShape<typeof KeyValueSchema>;
type NumberPointInit = MessageInitShape<typeof NumberDataPointSchema>;
type HistogramPointInit = MessageInitShape<typeof HistogramDataPointSchema>;

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}

/** A length-delimited field with a one-byte tag (every field number here is below 16). */
const delimited = (contentBytes: number) => 1 + varintLength(contentBytes) + contentBytes;
/** A nested message whose length is not known yet: tag and the widest length prefix. */
const OPEN_MESSAGE = 1 + 5;
/** A fixed64 or double field. */
const FIXED64 = 1 + 8;

function attributeBytes(key: string, value: string): number {
  const anyValue = delimited(utf8ByteLength(value));
  return delimited(delimited(utf8ByteLength(key)) + delimited(anyValue));
}

function attributes(labels: Record<string, string>): { init: KeyValueInit[]; bytes: number } {
  const init: KeyValueInit[] = [];
  let bytes = 0;
  for (const key in labels) {
    const value = labels[key]!;
    init.push({ key, value: { value: { case: 'stringValue', value } } });
    bytes += attributeBytes(key, value);
  }
  return { init, bytes };
}

/** prom-client's cumulative buckets as OTLP's per-bucket counts: explicit bounds without +Inf, one count more. */
function otlpBuckets(series: HistogramSeries): { explicitBounds: number[]; bucketCounts: bigint[] } {
  const explicitBounds = series.bounds.at(-1) === Infinity ? series.bounds.slice(0, -1) : series.bounds;
  const bucketCounts: bigint[] = [];
  let below = 0;
  for (let i = 0; i < explicitBounds.length; i++) {
    // Never negative for a prom-client histogram; a fixed64 could not carry it.
    bucketCounts.push(BigInt(Math.max(0, series.cumulative[i]! - below)));
    below = series.cumulative[i]!;
  }
  bucketCounts.push(BigInt(Math.max(0, series.count - below)));
  return { explicitBounds, bucketCounts };
}

function histogramPointBytes(attributeTotal: number, buckets: number): number {
  const counts = delimited(8 * buckets);
  const bounds = buckets > 1 ? delimited(8 * (buckets - 1)) : 0;
  // start time, time, count, sum
  return delimited(attributeTotal + 4 * FIXED64 + counts + bounds);
}

export interface OtlpResource {
  job: string;
  instance: string;
}

type Points = { kind: 'delta'; interval: DeltaInterval } | { kind: 'gauge'; timeNs: bigint };

function otlpWriter(resource: OtlpResource, points: Points): BodyWriter {
  const resourceAttributes = attributes({ 'service.name': resource.job, 'service.instance.id': resource.instance });
  const metrics: MetricInit[] = [];
  let open: { name: string; points: (NumberPointInit | HistogramPointInit)[] } | undefined;
  const startNs = points.kind === 'delta' ? points.interval.startNs : 0n;
  const timeNs = points.kind === 'delta' ? points.interval.endNs : points.timeNs;

  const openFamily = (family: FamilyHeader) => {
    if (open?.name === family.name) return open.points;
    const dataPoints: (NumberPointInit | HistogramPointInit)[] = [];
    open = { name: family.name, points: dataPoints };
    const base = { name: family.name, description: family.help };
    if (family.type === 'gauge') metrics.push({ ...base, data: { case: 'gauge', value: { dataPoints: dataPoints as NumberPointInit[] } } });
    else if (family.type === 'counter')
      metrics.push({
        ...base,
        data: {
          case: 'sum',
          value: { aggregationTemporality: AggregationTemporality.DELTA, isMonotonic: true, dataPoints: dataPoints as NumberPointInit[] },
        },
      });
    else
      metrics.push({
        ...base,
        data: {
          case: 'histogram',
          value: { aggregationTemporality: AggregationTemporality.DELTA, dataPoints: dataPoints as HistogramPointInit[] },
        },
      });
    return dataPoints;
  };

  return {
    // resource_metrics, its resource with the two attributes, one scope_metrics
    emptyBytes: OPEN_MESSAGE + delimited(resourceAttributes.bytes) + OPEN_MESSAGE,
    // the Metric, its name and description, its data message with temporality and monotonicity
    familyBytes: (family) =>
      OPEN_MESSAGE + delimited(utf8ByteLength(family.name)) + delimited(utf8ByteLength(family.help)) + OPEN_MESSAGE + 4,
    measure(family, series: SeriesValue) {
      const labels = attributes(series.labels);
      if ('bounds' in series) {
        const buckets = otlpBuckets(series);
        return {
          bytes: histogramPointBytes(labels.bytes, buckets.bucketCounts.length),
          add: () =>
            openFamily(family).push({
              attributes: labels.init,
              startTimeUnixNano: startNs,
              timeUnixNano: timeNs,
              count: BigInt(series.count),
              sum: series.sum,
              ...buckets,
            }),
        };
      }
      return {
        bytes: delimited(labels.bytes + 3 * FIXED64),
        add: () =>
          openFamily(family).push({
            attributes: labels.init,
            startTimeUnixNano: startNs,
            timeUnixNano: timeNs,
            value: { case: 'asDouble', value: series.value },
          }),
      };
    },
    finish: () =>
      toBinary(
        ExportMetricsServiceRequestSchema,
        create(ExportMetricsServiceRequestSchema, {
          resourceMetrics: [{ resource: { attributes: resourceAttributes.init }, scopeMetrics: [{ metrics }] }],
        }),
      ) as Uint8Array<ArrayBuffer>,
  };
}

/** Counter and histogram deltas over `interval`, as DELTA points. */
export function otlpDeltaWriter(resource: OtlpResource, interval: DeltaInterval): BodyWriter {
  return otlpWriter(resource, { kind: 'delta', interval });
}

/** Gauge values observed at `timeNs`. */
export function otlpGaugeWriter(resource: OtlpResource, timeNs: bigint): BodyWriter {
  return otlpWriter(resource, { kind: 'gauge', timeNs });
}

/**
 * The points a 2xx ExportMetricsServiceResponse says were refused (`partial_success`), or undefined when all were
 * accepted. An answer that does not decode says nothing about refusals (a receiver may answer an empty body).
 */
export function otlpRefusedPoints(body: Uint8Array | undefined): { count: number; message: string } | undefined {
  if (!body || body.length === 0) return undefined;
  try {
    const partial = fromBinary(ExportMetricsServiceResponseSchema, body).partialSuccess;
    if (!partial || partial.rejectedDataPoints <= 0n) return undefined;
    return { count: Number(partial.rejectedDataPoints), message: partial.errorMessage };
  } catch {
    return undefined;
  }
}
