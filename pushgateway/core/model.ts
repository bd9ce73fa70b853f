// The gateway's data model, shared by the parsers (text, protobuf), the renderer, validation,
// aggregation and every store. It mirrors io.prometheus.client.MetricFamily: a family holds metrics,
// a metric is one label set with its value(s). Samples never carry timestamps: pushes that have one
// are refused, as by the official Pushgateway.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** Label name → value. Names are sorted when a series key is computed, never relied on here. */
export type Labels = Record<string, string>;

export interface Bucket {
  /** The `le` bound; `Infinity` for +Inf. */
  upperBound: number;
  /** Cumulative count, as exposed. */
  cumulativeCount: number;
}

export interface Quantile {
  quantile: number;
  value: number;
}

/** counter, gauge, untyped */
export interface ScalarMetric {
  labels: Labels;
  value: number;
}

/** A run of consecutive native-histogram buckets: `offset` from the end of the previous span (or from 0). */
export interface BucketSpan {
  offset: number;
  length: number;
}

/**
 * The sparse, exponential buckets of a native histogram (client_model's Histogram native fields, OTLP's
 * ExponentialHistogram). With schema s, bucket i covers (2^((i-1)·2^-s), 2^(i·2^-s)]; negative buckets mirror
 * that below zero; the zero bucket holds |v| ≤ zeroThreshold.
 */
export interface NativeBuckets {
  /** -4 … 8: the bucket factor is 2^(2^-schema). */
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positiveSpans: BucketSpan[];
  /** Absolute count of each bucket the spans cover, in order (not the wire format's deltas). */
  positiveCounts: number[];
  negativeSpans: BucketSpan[];
  negativeCounts: number[];
  /**
   * True for a float histogram (client_model's `*_float` / `positive_count` fields); absent or false for an integer
   * one (`zero_count` and `positive_delta`, as client_golang and OTLP send): the exposition keeps the kind it got.
   */
  float?: boolean;
}

export interface HistogramMetric {
  labels: Labels;
  /** Classic buckets, sorted by upperBound, ending with +Inf; empty for a histogram that is only native. */
  buckets: Bucket[];
  sum: number;
  count: number;
  /** Present for a native histogram (possibly alongside classic buckets, as client_golang can send both). */
  native?: NativeBuckets;
}

export interface SummaryMetric {
  labels: Labels;
  quantiles: Quantile[];
  sum: number;
  count: number;
}

export type Metric = ScalarMetric | HistogramMetric | SummaryMetric;

export interface MetricFamily {
  name: string;
  /** undefined when the push had no HELP line (the official gateway then shows a default HELP). */
  help: string | undefined;
  type: MetricType;
  metrics: Metric[];
}

/**
 * How a group was last written (what only this gateway knows; shown on the page and in /api/v1/metrics):
 * - `replaced`: an official push, PUT (the whole group) or POST (the pushed families);
 * - `aggregated`: /aggregate, deltas added to what was stored;
 * - `otlp-delta`: OTLP with DELTA points in it for this group (added, exactly once by window);
 * - `otlp-cumulative`: OTLP with only CUMULATIVE points, gauges or summaries for this group (replaced per series).
 */
export type GroupWriteMode = 'replaced' | 'aggregated' | 'otlp-delta' | 'otlp-cumulative';

const groupWriteModes: ReadonlySet<string> = new Set<GroupWriteMode>(['replaced', 'aggregated', 'otlp-delta', 'otlp-cumulative']);

/** For stores that read the mode back from text (a snapshot, a Redis hash). */
export function isGroupWriteMode(value: unknown): value is GroupWriteMode {
  return typeof value === 'string' && groupWriteModes.has(value);
}

/** One push group: identified by its grouping labels (always including `job`). */
export interface Group {
  /** Canonical key of the grouping labels (see groupKey in core/grouping). */
  key: string;
  /** Grouping labels, `job` first in rendering; `instance` is "" when not given. */
  labels: Labels;
  /** Families by name, with the grouping labels already applied to every metric. */
  families: Map<string, MetricFamily>;
  /** Unix ms of the last successful push (push_time_seconds). */
  lastPushMs: number;
  /** Unix ms of the last refused push (push_failure_time_seconds), 0 if none. */
  lastFailureMs: number;
  /** How the last successful push wrote it; absent while only refused pushes reached the group. */
  writeMode?: GroupWriteMode;
  /**
   * Retries of this group's pushes that were not applied again: Idempotency-Key replays, and OTLP exports carrying
   * DELTA points for the group whose windows had been applied before (each such export counts once).
   */
  deduplicatedRetries: number;
}

export function isHistogram(metric: Metric): metric is HistogramMetric {
  return 'buckets' in metric;
}

export function isSummary(metric: Metric): metric is SummaryMetric {
  return 'quantiles' in metric;
}
