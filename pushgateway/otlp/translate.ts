// An OTLP ExportMetricsServiceRequest as the gateway's points, grouped by the group each resource pushes to. The
// mapping is the OpenTelemetry specification's "Prometheus and OpenMetrics Compatibility":
// - resource: service.namespace + "/" + service.name (or service.name) → job, service.instance.id → instance; the
//   other resource attributes become the labels of a `target_info` gauge (value 1) in the same group;
// - scope: its name and version → otel_scope_name, otel_scope_version labels on every point;
// - Gauge → gauge; monotonic Sum → counter (`_total`); non-monotonic Sum → gauge; Histogram → classic histogram;
//   ExponentialHistogram → native histogram; Summary → summary;
// - DELTA points add to the stored series (their windows judged for exactly-once), CUMULATIVE points and gauges
//   replace it.
// Not carried, because Prometheus' data model (as the gateway serves it) has no place for them: exemplars,
// histogram min/max, start timestamps (other than for exactly-once), points flagged "no recorded value" (a
// staleness marker a push cannot express), scope attributes and schema URLs (they still tell streams apart).

import { StreamDigests } from '../core/delta-windows.js';
import { groupKey } from '../core/grouping.js';
import type { Bucket, Labels, Metric, MetricType, NativeBuckets } from '../core/model.js';
import type { ExportMetricsServiceRequest } from '../proto/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { AnyValue, KeyValue } from '../proto/opentelemetry/proto/common/v1/common_pb.js';
import {
  AggregationTemporality,
  type ExponentialHistogramDataPoint,
  type ExponentialHistogramDataPoint_Buckets,
  type HistogramDataPoint,
  type NumberDataPoint,
  type Metric as OtlpMetric,
  type SummaryDataPoint,
} from '../proto/opentelemetry/proto/metrics/v1/metrics_pb.js';
import type { OtlpGroupPush, OtlpPoint } from '../store/types.js';
import { attributesToLabels, type NamedKind, prometheusMetricName } from './names.js';

export interface Translation {
  groups: OtlpGroupPush[];
  /** Points that cannot be translated (no value, an unspecified temporality, inconsistent buckets): refused. */
  rejected: number;
  /** Points flagged "no recorded value": skipped, neither applied nor refused. */
  skipped: number;
  messages: string[];
}

const noRecordedValue = 1;
/** Prometheus' native histograms span schemas -4 … 8; a finer OTLP scale is brought down to 8. */
const maxSchema = 8;
const minSchema = -4;

function anyValueText(value: AnyValue | undefined): string {
  const v = value?.value;
  switch (v?.case) {
    case undefined:
      return '';
    case 'stringValue':
      return v.value;
    case 'boolValue':
    case 'intValue':
    case 'doubleValue':
      return String(v.value);
    case 'bytesValue':
      return btoa(String.fromCharCode(...v.value));
    case 'arrayValue':
      return JSON.stringify(v.value.values.map(anyValueText));
    case 'kvlistValue':
      return JSON.stringify(Object.fromEntries(v.value.values.map((kv) => [kv.key, anyValueText(kv.value)])));
  }
}

function attributePairs(attributes: readonly KeyValue[]): [string, string][] {
  return attributes.map((kv) => [kv.key, anyValueText(kv.value)]);
}

/** Attributes in a canonical text (sorted by key), a part of a stream's identity. */
function identityText(pairs: readonly (readonly [string, string])[]): string {
  return JSON.stringify([...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const serviceKeys = new Set(['service.name', 'service.namespace', 'service.instance.id']);

function resourceGrouping(pairs: readonly (readonly [string, string])[]): Labels {
  const get = (key: string) => pairs.find(([k]) => k === key)?.[1];
  const name = get('service.name') || 'unknown_service';
  const namespace = get('service.namespace');
  return { job: namespace ? `${namespace}/${name}` : name, instance: get('service.instance.id') ?? '' };
}

/** Dense counts from OTLP buckets at `scale`, brought to `scale - shift`, as Prometheus spans (bucket index + 1). */
function nativeSide(
  buckets: ExponentialHistogramDataPoint_Buckets | undefined,
  shift: number,
): { spans: NativeBuckets['positiveSpans']; counts: number[] } {
  const counts = buckets?.bucketCounts ?? [];
  if (counts.length === 0) return { spans: [], counts: [] };
  const offset = buckets!.offset;
  const first = offset >> shift;
  const dense: number[] = [];
  for (let k = 0; k < counts.length; k++) {
    const index = ((offset + k) >> shift) - first;
    dense[index] = (dense[index] ?? 0) + Number(counts[k]);
  }
  let start = 0;
  while (start < dense.length && dense[start] === 0) start++;
  let end = dense.length;
  while (end > start && dense[end - 1] === 0) end--;
  if (start === end) return { spans: [], counts: [] };
  // OTLP bucket i covers (base^i, base^(i+1)]; Prometheus bucket i covers (base^(i-1), base^i]: one index apart.
  return { spans: [{ offset: first + start + 1, length: end - start }], counts: dense.slice(start, end) };
}

type PointResult = { metric: Metric } | { problem: string };

function exponentialPoint(point: ExponentialHistogramDataPoint, labels: Labels): PointResult {
  if (point.sum === undefined) return { problem: 'an exponential histogram point without a sum cannot be exposed to Prometheus' };
  if (point.scale < minSchema)
    return { problem: `exponential histogram scale ${point.scale} is below ${minSchema}, the coarsest native-histogram schema` };
  const schema = Math.min(point.scale, maxSchema);
  const shift = point.scale - schema;
  const positive = nativeSide(point.positive, shift);
  const negative = nativeSide(point.negative, shift);
  const native: NativeBuckets = {
    schema,
    zeroThreshold: point.zeroThreshold,
    zeroCount: Number(point.zeroCount),
    positiveSpans: positive.spans,
    positiveCounts: positive.counts,
    negativeSpans: negative.spans,
    negativeCounts: negative.counts,
  };
  return { metric: { labels, buckets: [], sum: point.sum, count: Number(point.count), native } };
}

function histogramPoint(point: HistogramDataPoint, labels: Labels): PointResult {
  if (point.sum === undefined) return { problem: 'a histogram point without a sum cannot be exposed to Prometheus' };
  const count = Number(point.count);
  if (point.bucketCounts.length === 0)
    return { metric: { labels, buckets: [{ upperBound: Infinity, cumulativeCount: count }], sum: point.sum, count } };
  if (point.bucketCounts.length !== point.explicitBounds.length + 1)
    return {
      problem: `a histogram point has ${point.bucketCounts.length} bucket counts for ${point.explicitBounds.length} bounds (want bounds + 1)`,
    };
  const buckets: Bucket[] = [];
  let cumulative = 0;
  for (let i = 0; i < point.bucketCounts.length; i++) {
    cumulative += Number(point.bucketCounts[i]);
    buckets.push({ upperBound: i < point.explicitBounds.length ? point.explicitBounds[i]! : Infinity, cumulativeCount: cumulative });
  }
  return { metric: { labels, buckets, sum: point.sum, count } };
}

function numberPoint(point: NumberDataPoint, labels: Labels): PointResult {
  const { value } = point;
  if (value.case === undefined) return { problem: 'a number point has no value' };
  return { metric: { labels, value: typeof value.value === 'bigint' ? Number(value.value) : value.value } };
}

function summaryPoint(point: SummaryDataPoint, labels: Labels): PointResult {
  return {
    metric: {
      labels,
      quantiles: point.quantileValues.map((q) => ({ quantile: q.quantile, value: q.value })),
      sum: point.sum,
      count: Number(point.count),
    },
  };
}

interface MetricShape {
  type: MetricType;
  kind: NamedKind;
  combine: OtlpPoint['combine'];
  points: readonly (NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint | SummaryDataPoint)[];
  read: (point: never, labels: Labels) => PointResult;
}

/** The Prometheus shape of an OTLP metric, or the reason its points are refused. */
function metricShape(metric: OtlpMetric): MetricShape | string | undefined {
  const data = metric.data;
  const temporality = (t: AggregationTemporality): OtlpPoint['combine'] | string =>
    t === AggregationTemporality.DELTA
      ? 'add'
      : t === AggregationTemporality.CUMULATIVE
        ? 'replace'
        : 'the aggregation temporality is unspecified';
  switch (data.case) {
    case undefined:
      return undefined;
    case 'gauge':
      return { type: 'gauge', kind: 'gauge', combine: 'replace', points: data.value.dataPoints, read: numberPoint };
    case 'sum': {
      const combine = temporality(data.value.aggregationTemporality);
      if (combine !== 'add' && combine !== 'replace') return combine;
      const monotonic = data.value.isMonotonic;
      return {
        type: monotonic ? 'counter' : 'gauge',
        kind: monotonic ? 'counter' : 'other',
        combine,
        points: data.value.dataPoints,
        read: numberPoint,
      };
    }
    case 'histogram': {
      const combine = temporality(data.value.aggregationTemporality);
      if (combine !== 'add' && combine !== 'replace') return combine;
      return { type: 'histogram', kind: 'other', combine, points: data.value.dataPoints, read: histogramPoint };
    }
    case 'exponentialHistogram': {
      const combine = temporality(data.value.aggregationTemporality);
      if (combine !== 'add' && combine !== 'replace') return combine;
      return { type: 'histogram', kind: 'other', combine, points: data.value.dataPoints, read: exponentialPoint };
    }
    case 'summary':
      return { type: 'summary', kind: 'other', combine: 'replace', points: data.value.dataPoints, read: summaryPoint };
  }
}

function countPoints(metric: OtlpMetric): number {
  return metric.data.case === undefined ? 0 : metric.data.value.dataPoints.length;
}

/** At most this many distinct reasons go into partial_success.error_message. */
const maxMessages = 5;

const sharedDigests = new StreamDigests();

export async function translateExportRequest(request: ExportMetricsServiceRequest, digests = sharedDigests): Promise<Translation> {
  const groups = new Map<string, OtlpGroupPush>();
  const result: Translation = { groups: [], rejected: 0, skipped: 0, messages: [] };
  const refuse = (count: number, message: string) => {
    result.rejected += count;
    if (result.messages.length < maxMessages && !result.messages.includes(message)) result.messages.push(message);
  };
  const pendingDigests: Promise<void>[] = [];

  for (const resourceMetrics of request.resourceMetrics) {
    const resourcePairs = attributePairs(resourceMetrics.resource?.attributes ?? []);
    const grouping = resourceGrouping(resourcePairs);
    const key = groupKey(grouping);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { grouping, points: [] }));
    const targetPairs = resourcePairs.filter(([k]) => !serviceKeys.has(k));
    if (targetPairs.length > 0)
      group.points.push({
        name: 'target_info',
        help: 'Target metadata',
        type: 'gauge',
        combine: 'replace',
        metric: { labels: attributesToLabels(targetPairs), value: 1 },
      });
    const resourceIdentity = identityText(resourcePairs);

    for (const scopeMetrics of resourceMetrics.scopeMetrics) {
      const scope = scopeMetrics.scope;
      const scopePairs: [string, string][] = [];
      if (scope?.name) scopePairs.push(['otel_scope_name', scope.name]);
      if (scope?.version) scopePairs.push(['otel_scope_version', scope.version]);
      const scopeIdentity = JSON.stringify([
        scope?.name ?? '',
        scope?.version ?? '',
        identityText(attributePairs(scope?.attributes ?? [])),
      ]);

      for (const metric of scopeMetrics.metrics) {
        const shape = metricShape(metric);
        if (shape === undefined) continue;
        if (typeof shape === 'string') {
          refuse(countPoints(metric), `metric ${JSON.stringify(metric.name)}: ${shape}`);
          continue;
        }
        const name = prometheusMetricName(metric.name, metric.unit, shape.kind);
        for (const point of shape.points) {
          if ((point.flags & noRecordedValue) !== 0) {
            result.skipped++;
            continue;
          }
          const pointPairs = attributePairs(point.attributes);
          const labels = attributesToLabels([...pointPairs, ...scopePairs]);
          const read = shape.read(point as never, labels);
          if ('problem' in read) {
            refuse(1, `metric ${JSON.stringify(metric.name)}: ${read.problem}`);
            continue;
          }
          const translated: OtlpPoint = {
            name,
            help: metric.description || undefined,
            type: shape.type,
            metric: read.metric,
            combine: shape.combine,
          };
          if (shape.combine === 'add') {
            if (point.startTimeUnixNano > point.timeUnixNano) {
              refuse(1, `metric ${JSON.stringify(metric.name)}: a delta point starts after it ends`);
              continue;
            }
            const identity = `${resourceIdentity}\u0000${scopeIdentity}\u0000${metric.name}\u0000${metric.data.case}\u0000${identityText(pointPairs)}`;
            pendingDigests.push(
              digests.digest(identity).then((stream) => {
                translated.window = { stream, startNs: point.startTimeUnixNano, endNs: point.timeUnixNano };
              }),
            );
          }
          group.points.push(translated);
        }
      }
    }
  }
  await Promise.all(pendingDigests);
  result.groups = [...groups.values()].filter((group) => group.points.length > 0);
  return result;
}
